"""The retention page: retention policies, legal holds placed and released, and the latest purges' tombstones."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from records.retention.models import LegalHold
from records.retention.rules import years_before
from records.retention.services import legal_hold_place, purge_run
from tests.conftest import make_user
from tests.pages import figures, nav_links, table_rows
from tests.records.helpers_retention import trade

pytestmark = pytest.mark.django_db


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
    records = [link for link in links if link[1].startswith(("/records/retention/", "/records/exports/"))]
    assert records == [("Retention and holds", "/records/retention/", True), ("Exports", "/records/exports/", False)]

