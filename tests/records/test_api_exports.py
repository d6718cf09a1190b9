"""The export API: CSV streamed to the roles that keep the books, a 400 for a bad range; the daily manifest queued."""

from datetime import timedelta

import pytest
from django.http import StreamingHttpResponse
from django.utils import timezone

from records.exports.models import ExportManifest
from tests.records.helpers_exports import text

pytestmark = pytest.mark.django_db


def test_export_api_streams_csv_to_operations_compliance_and_accounting(export_book, day, ops_client, compliance_client,
                                                                        accounting_client, fo_client):
    url = f"/api/v1/records/exports/trades.csv?date_from={day}&date_to={day + timedelta(days=1)}"
    response = ops_client.get(url)
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="trades_{day}_{day + timedelta(days=1)}.csv"')
    body = b"".join(response.streaming_content).decode()
    assert body == text("trades", day, day + timedelta(days=1))
    assert compliance_client.get(url, HTTP_ACCEPT="text/csv").status_code == 200
    assert accounting_client.get(url).status_code == 200
    assert fo_client.get(url).status_code == 403


@pytest.mark.parametrize(("query", "field"), [
    ("date_from=2026-01-02&date_to=2026-01-01", "date_to"),
    ("date_from=2025-01-01&date_to=2026-01-02", "date_to"),
    ("date_from=2026-13-01&date_to=2026-01-01", "date_from"),
    ("date_to=2026-01-01", "date_from"),
])
def test_export_api_answers_400_for_a_bad_range(ops_client, query, field):
    response = ops_client.get(f"/api/v1/records/exports/cash.csv?{query}", HTTP_ACCEPT="text/csv")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert list(response.json()) == [field], response.json()


def test_export_api_answers_404_for_an_unknown_kind(ops_client):
    response = ops_client.get("/api/v1/records/exports/salaries.csv?date_from=2026-01-01&date_to=2026-01-01")
    assert response.status_code == 404


def test_manifest_api_queues_the_exports_then_answers_the_existing_manifest(export_book, day, ops_client, fo_client):
    assert fo_client.post("/api/v1/records/manifests/", {"business_date": str(day)}, format="json").status_code == 403
    queued = ops_client.post("/api/v1/records/manifests/", {"business_date": str(day)}, format="json")
    assert queued.status_code == 202, queued.content
    assert queued.json()["status"] == "QUEUED" and queued.json()["business_date"] == str(day)
    manifest = ExportManifest.objects.get()  # the eager worker has run
    assert manifest.created_by == "ops"
    again = ops_client.post("/api/v1/records/manifests/", {"business_date": str(day)}, format="json")
    assert again.status_code == 200 and again.json()["signature"] == manifest.signature
    clash = ops_client.post("/api/v1/records/manifests/", {"business_date": str(day), "date_from": str(day - timedelta(
        days=1))}, format="json")
    assert clash.status_code == 409
    listed = ops_client.get(f"/api/v1/records/manifests/?business_date={day}").json()
    assert listed["count"] == 1 and [f["name"] for f in listed["results"][0]["files"]] == [
        "trades.csv", "positions.csv", "cash.csv", "audit.csv"]
    future = ops_client.post("/api/v1/records/manifests/", {"business_date": str(timezone.localdate() + timedelta(
        days=1))}, format="json")
    assert future.status_code == 400 and "business_date" in future.json()
