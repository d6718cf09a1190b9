"""Records-keeping pages: retention policies and legal holds, purge tombstones, exports and manifests."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from records.exports.services import export_manifest_create
from records.retention.models import LegalHold
from records.retention.rules import years_before
from records.retention.services import legal_hold_place, purge_run
from tests.conftest import make_user
from tests.records.retention_data import trade

from .conftest import figures, nav_links, table_rows

pytestmark = pytest.mark.django_db


@pytest.fixture
def compliance_officer(db):
    return make_user("comp-dash", "compliance")


@pytest.fixture
def old_trade(book, accounts, instruments, counterparties):
    return trade(user=make_user("oms"), account=accounts["ACC-001"], instrument=instruments["AAPL"],
                 counterparty=counterparties["BRKR-A"], trade_date=years_before(book.today, 6) - timedelta(days=10))


def test_retention_page_lists_each_policy_with_its_cutoff(signed_in, book):
    rows = {row[0]: row for row in table_rows(signed_in.get("/records/retention/"), "policies")}
    today = timezone.localdate()
    assert rows["records.trade"][:4] == ["records.trade", "6", years_before(today, 6).isoformat(), "yes"]
    assert rows["records.price"][:4] == ["records.price", "3", years_before(today, 3).isoformat(), "yes"]
    assert rows["records.position"][3] == "no (kept)"


def test_an_operator_places_a_hold_and_releases_it(signed_in, book, operator):
    response = signed_in.post("/records/retention/holds/", {
        "scope": "ACCOUNT", "account": "acc-001", "reason": "SEC inquiry", "matter": "SEC-14"}, follow=True)
    hold = LegalHold.objects.get()
    assert (hold.scope, hold.account.code, hold.placed_by, hold.matter) == ("ACCOUNT", "ACC-001", operator, "SEC-14")
    assert f"Legal hold #{hold.pk} placed" in response.content.decode()
    [row] = table_rows(response, "active-holds")
    assert row[:6] == [str(hold.pk), "Account", "ACC-001", "SEC-14", "SEC inquiry", "ops-dash"]
    assert figures(response)["active-holds"] == "1 active"

    response = signed_in.post(f"/records/retention/holds/{hold.pk}/release/", {"reason": "closed"}, follow=True)
    assert table_rows(response, "active-holds") == []
    [row] = table_rows(response, "released-holds")
    assert (row[0], row[2], row[5], row[7]) == (str(hold.pk), "ACC-001", "ops-dash", "closed")
    assert LegalHold.objects.get().released_by == operator


def test_a_hold_on_an_unknown_account_or_without_a_reason_is_refused_and_shown(signed_in, book):
    response = signed_in.post("/records/retention/holds/", {"scope": "ACCOUNT", "account": "NOPE", "reason": "x"})
    assert response.status_code == 400
    assert "No account &#x27;NOPE&#x27;." in response.content.decode()
    response = signed_in.post("/records/retention/holds/", {"scope": "RECORD", "record_type": "records.trade",
                                                            "record_id": "12345", "reason": "x"})
    assert response.status_code == 400 and "There is no records.trade #12345 to hold." in response.content.decode()
    response = signed_in.post("/records/retention/holds/", {"scope": "INSTRUMENT", "instrument": "AAPL"})
    assert response.status_code == 400 and "This field is required." in response.content.decode()
    assert LegalHold.objects.count() == 0


def test_a_release_without_a_reason_changes_nothing(signed_in, book, operator, accounts):
    with transaction.atomic():
        hold = legal_hold_place(actor=operator, scope="ACCOUNT", account=accounts["HOUSE"], reason="x")
    response = signed_in.post(f"/records/retention/holds/{hold.pk}/release/", {"reason": ""}, follow=True)
    assert "not released" in response.content.decode()
    assert LegalHold.objects.get().is_active


def test_accounting_reads_the_page_without_the_hold_forms_and_front_office_is_refused(client, book):
    client.force_login(make_user("acct-dash", "accounting"))
    response = client.get("/records/retention/")
    assert response.status_code == 200 and 'id="hold-form"' not in response.content.decode()
    assert client.post("/records/retention/holds/", {"scope": "ACCOUNT", "account": "HOUSE",
                                                     "reason": "x"}).status_code == 403
    client.force_login(make_user("fo-dash", "front_office"))
    assert client.get("/records/retention/").status_code == 403
    assert client.get("/records/exports/").status_code == 403
    assert ("Retention and holds", "/records/retention/", False) not in nav_links(client.get("/"))


def test_the_latest_purges_show_with_their_verified_signature(signed_in, book, old_trade):
    with transaction.atomic():
        purge_run(actor="job:test", record_type="records.trade")
    [row] = table_rows(signed_in.get("/records/retention/"), "tombstones")
    assert row[1:5] == ["records.trade", "1", f"{old_trade.pk}–{old_trade.pk}",
                        years_before(timezone.localdate(), 6).isoformat()]
    assert row[5:] == ["6 y", "job:test", "Verifies"]


def test_the_records_section_of_the_navigation(signed_in, book):
    links = nav_links(signed_in.get("/records/retention/"))
    assert links[-2:] == [("Retention and holds", "/records/retention/", True), ("Exports", "/records/exports/", False)]


# Exports --------------------------------------------------------------------------------------------

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
