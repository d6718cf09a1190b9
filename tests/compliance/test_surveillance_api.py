"""The surveillance runs over the API (API.md "Compliance"): POST .../surveillance/runs/ queues (202), refuses a
bad date (400) and a second run of a date under way (409); compliance and operations start, accounting reads."""

from datetime import timedelta

import pytest
from django.utils import timezone

from backoffice.core.jobs.models import JobRun
from records.audit.models import AuditRecord
from tests.compliance.helpers_surveillance import DAY, survey

pytestmark = pytest.mark.django_db
URL = "/api/v1/compliance/surveillance/runs/"


@pytest.mark.parametrize("client_name", ["compliance_client", "ops_client"])
def test_compliance_and_operations_queue_a_run(request, client_name):
    response = request.getfixturevalue(client_name).post(URL, {"trade_date": "2026-11-20"}, format="json")
    assert response.status_code == 202, response.json()
    body = response.json()
    assert (body["kind"], body["status"], body["parameters"]) == ("compliance-surveillance", "QUEUED",
                                                                  {"trade_date": "2026-11-20"})
    job = JobRun.objects.get(pk=body["id"])
    assert job.started_by_label in ("comp", "ops")
    assert AuditRecord.objects.filter(record_type="core.jobrun", record_id=str(job.pk), action="CREATE").exists()


@pytest.mark.parametrize("body, field", [
    ({"trade_date": "2026-11-21"}, "trade_date"),  # a Saturday: no market trades
    ({"trade_date": "20261120"}, "trade_date"),
    ({"trade_date": "2026-02-30"}, "trade_date"),
    ({"trade_date": 20261120}, "trade_date"),
    ({"trade_date": "2026-11-20\x00"}, "trade_date"),
    ({}, "trade_date"),
    ({"trade_date": "2026-11-20", "scenario": "wash"}, "scenario"),
])
def test_a_bad_date_is_a_400_naming_the_field(compliance_client, body, field):
    response = compliance_client.post(URL, body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not JobRun.objects.filter(kind="compliance-surveillance").exists()


def test_a_future_date_is_a_400(compliance_client):
    tomorrow = timezone.localdate() + timedelta(days=1)
    response = compliance_client.post(URL, {"trade_date": tomorrow.isoformat()}, format="json")
    assert response.status_code == 400
    assert "future" in response.json()["trade_date"][0]


def test_a_body_that_is_not_an_object_is_a_400(compliance_client):
    assert compliance_client.post(URL, ["2026-11-20"], format="json").status_code == 400


def test_a_second_run_of_a_date_under_way_is_a_409(compliance_client, ops_client):
    first = compliance_client.post(URL, {"trade_date": "2026-11-20"}, format="json")
    assert first.status_code == 202  # queued: the worker gets it after the commit
    second = ops_client.post(URL, {"trade_date": "2026-11-20"}, format="json")
    assert second.status_code == 409
    assert f"job {first.json()['id']}" in second.json()["detail"]
    assert ops_client.post(URL, {"trade_date": "2026-11-19"}, format="json").status_code == 202
    assert JobRun.objects.filter(kind="compliance-surveillance").count() == 2


def test_roles(fo_client, accounting_client, anon_client):
    assert anon_client.get(URL).status_code == 401
    assert fo_client.get(URL).status_code == 403
    assert fo_client.post(URL, {"trade_date": "2026-11-20"}, format="json").status_code == 403
    assert accounting_client.post(URL, {"trade_date": "2026-11-20"}, format="json").status_code == 403
    assert accounting_client.get(URL).status_code == 200
    assert not JobRun.objects.exists()


def test_history_and_detail_show_the_per_scenario_counts(accounting_client):
    job = survey()
    survey(DAY - timedelta(days=1))
    listing = accounting_client.get(URL, {"trade_date": "2026-11-20"}).json()
    assert listing["count"] == 1 and listing["results"][0]["id"] == job.pk
    detail = accounting_client.get(f"{URL}{job.pk}/").json()
    assert [row["step"] for row in detail["result"]] == ["wash-trades", "large-trades", "structuring",
                                                        "marking-close", "fail-close-out"]
    assert set(detail["result"][0]) >= {"hits", "raised", "existing", "seconds", "rules"}
    assert accounting_client.get(URL, {"trade_date": "2026-13-01"}).status_code == 400
    assert accounting_client.get(f"{URL}999999/").status_code == 404
    other = JobRun.objects.create(kind="audit-verify")
    assert accounting_client.get(f"{URL}{other.pk}/").status_code == 404
