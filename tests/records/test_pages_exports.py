"""The exports page: a download of each export for a range, the daily manifests, verified on request."""

import pytest

from records.exports.services import export_manifest_create
from tests.pages import table_rows

pytestmark = pytest.mark.django_db


def test_exports_page_offers_a_download_of_each_export_for_the_range(signed_in, book):
    response = signed_in.get(f"/records/exports/?date_from={book.d1}&date_to={book.d0}")
    content = response.content.decode()
    for name in ("trades", "positions", "cash", "audit"):
        assert f"/records/exports/{name}.csv?date_from={book.d1}&amp;date_to={book.d0}" in content
    csv = signed_in.get(f"/records/exports/cash.csv?date_from={book.d1}&date_to={book.d0}")
    assert csv.streaming and csv["Content-Type"] == "text/csv; charset=utf-8"
    lines = b"".join(csv.streaming_content).decode().splitlines()
    assert [line.split(",")[6] for line in lines[1:]] == ["CASH-1", "CASH-2", "CASH-3", "CASH-4"]


def test_a_range_too_long_is_refused_on_the_page_and_for_the_download(signed_in, book):
    response = signed_in.get("/records/exports/?date_from=2024-01-01&date_to=2026-01-01")
    assert "A range covers at most 366 days." in response.content.decode()
    assert 'id="downloads"' not in response.content.decode()
    response = signed_in.get("/records/exports/trades.csv?date_from=2024-01-01&date_to=2026-01-01", follow=True)
    assert "Choose a valid range" in response.content.decode()


def test_manifests_are_listed_downloadable_and_verified_on_request(signed_in, book, settings):
    manifest = export_manifest_create(business_date=book.d1)
    response = signed_in.get("/records/exports/")
    [row] = table_rows(response, "manifests")
    assert row[0] == book.d1.isoformat() and "cash.csv 3 rows" in row[2]
    file = signed_in.get(f"/records/exports/manifests/{book.d1}/cash.csv")
    assert file.status_code == 200 and b"".join(file.streaming_content).count(b"\r\n") == 4
    assert signed_in.get(f"/records/exports/manifests/{book.d1}/../../etc/passwd").status_code == 404
    assert signed_in.get(f"/records/exports/manifests/{book.d1}/other.csv").status_code == 404

    response = signed_in.post(f"/records/exports/manifests/{book.d1}/verify/", follow=True)
    assert f"Manifest {book.d1} verifies" in response.content.decode()
    path = settings.RECORDS_EXPORT_DIR / book.d1.isoformat() / "cash.csv"
    path.write_bytes(path.read_bytes() + b"forged\r\n")
    response = signed_in.post(f"/records/exports/manifests/{manifest.business_date}/verify/", follow=True)
    assert "does NOT verify: cash.csv: content differs from the manifest" in response.content.decode()
