"""The journal over the API: entries with their lines, manual entries and reversals proposed under maker-checker."""

from datetime import date
from decimal import Decimal

import pytest

from accounting.models import JournalEntry, Period
from records.approvals.models import ChangeRequest
from records.reference.models import FxRate
from tests.accounting.factories import post_entry
from tests.conftest import client_for, make_user

pytestmark = pytest.mark.django_db

URL = "/api/v1/accounting/journal-entries/"
DAY = date(2026, 11, 16)


def manual(**overrides):
    body = {"entry_date": "2026-11-16", "currency": "USD", "description": "accrue audit fee",
            "lines": [{"gl_account": "5100", "debit": "1200.50"}, {"gl_account": "2150", "credit": "1200.50"}],
            "reason": "November audit"}
    body.update(overrides)
    return body


@pytest.fixture
def checker_client(db):
    return client_for(make_user("checker", "accounting"))


def test_entries_come_with_their_lines_newest_first(accounting_client, accounts, instruments):
    first = post_entry(lines=[("CASH", "100"), ("ACCOUNT_FUNDS", "-100")], entry_date=date(2026, 11, 13),
                       account=accounts["ACC-001"], source_type="CASH", source_id=7, rule="CASH_FUNDS")
    second = post_entry(lines=[("INVESTMENTS", "1892.5", "10"), ("PAYABLE_PURCHASES", "-1892.5")], entry_date=DAY,
                        account=accounts["ACC-001"], instrument=instruments["AAPL"], source_type="TRADE",
                        source_id=42, rule="TRADE_BUY")
    response = accounting_client.get(URL)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2 and [row["id"] for row in body["results"]] == [second.pk, first.pk]
    row = body["results"][0]
    assert {k: row[k] for k in ("entry_date", "event_date", "source_type", "source_id", "source_version", "rule",
                                "generation", "reversal_of", "reversed_by", "account", "instrument", "currency",
                                "posted_by")} == {
        "entry_date": "2026-11-16", "event_date": "2026-11-16", "source_type": "TRADE", "source_id": 42,
        "source_version": 0, "rule": "TRADE_BUY", "generation": 0, "reversal_of": None, "reversed_by": None,
        "account": "ACC-001", "instrument": "US0378331005", "currency": "USD", "posted_by": None}
    assert row["lines"] == [
        {"gl_account": "1300", "gl_name": "Investments at cost", "debit": "1892.50", "credit": None,
         "amount": "1892.50", "base_amount": "1892.50", "fx_rate": "1", "quantity": "10", "account": "ACC-001",
         "instrument": "US0378331005"},
        {"gl_account": "2100", "gl_name": "Payable for securities purchased", "debit": None, "credit": "1892.50",
         "amount": "-1892.50", "base_amount": "-1892.50", "fx_rate": "1", "quantity": "0", "account": "ACC-001",
         "instrument": "US0378331005"}]
    assert accounting_client.get(f"{URL}{first.pk}/").json()["lines"][0]["gl_account"] == "1100"


def test_filters_by_date_source_record_rule_gl_account_and_account(accounting_client, accounts):
    cash = post_entry(lines=[("CASH", "5"), ("ACCOUNT_FUNDS", "-5")], entry_date=date(2026, 11, 2), source_type="CASH",
                      source_id=9, rule="CASH_FUNDS", account=accounts["ACC-001"])
    trade = post_entry(lines=[("RECEIVABLE_SALES", "5"), ("INVESTMENTS", "-5")], entry_date=DAY, source_type="TRADE",
                       source_id=123, rule="TRADE_SELL", account=accounts["HOUSE"])

    def ids(query):
        response = accounting_client.get(URL + query)
        assert response.status_code == 200, response.json()
        return [row["id"] for row in response.json()["results"]]

    assert ids("?date_from=2026-11-10") == [trade.pk]
    assert ids("?date_to=2026-11-10") == [cash.pk]
    assert ids("?source=TRADE") == [trade.pk]
    assert ids("?source=TRADE:123") == [trade.pk] and ids("?source=TRADE:124") == []
    assert ids("?rule=CASH_FUNDS") == [cash.pk]
    assert ids("?gl_account=1100") == [cash.pk] and ids("?gl_account=1300") == [trade.pk]
    assert ids("?account=ACC-001") == [cash.pk] and ids("?account=NOPE") == []


@pytest.mark.parametrize("query, field", [("?date_from=2026-13-01", "date_from"), ("?source=BOGUS", "source"),
                                          ("?source=TRADE:x", "source"), ("?page_size=abc", None),
                                          ("?date_from=2026-11-10&date_to=2026-11-01", "date_to")])
def test_malformed_filters_are_400(accounting_client, query, field):
    response = accounting_client.get(URL + query)
    assert response.status_code == 400
    if field:
        assert field in response.json()


def test_a_page_of_entries_loads_their_lines_in_a_fixed_number_of_queries(accounting_client, accounts,
                                                                          django_assert_max_num_queries):
    for n in range(30):
        post_entry(lines=[("CASH", n + 1), ("ACCOUNT_FUNDS", -(n + 1))], entry_date=DAY, account=accounts["ACC-001"])
    with django_assert_max_num_queries(8):
        response = accounting_client.get(URL)
    assert len(response.json()["results"]) == 30


def test_reading_needs_a_token_and_a_role(anon_client, fo_client, ops_client, compliance_client):
    assert anon_client.get(URL).status_code == 401
    assert fo_client.get(URL).status_code == 403
    assert ops_client.get(URL).status_code == 200 and compliance_client.get(URL).status_code == 200
    assert ops_client.post(URL, manual(), format="json").status_code == 403
    assert anon_client.get(f"{URL}1/").status_code == 401


def test_an_unknown_entry_is_404(accounting_client):
    assert accounting_client.get(f"{URL}999999/").status_code == 404
    assert accounting_client.post(f"{URL}999999/reverse/", {"reason": "x"}, format="json").status_code == 404


def test_a_manual_entry_is_proposed_202_and_posted_when_another_user_approves(accounting_client, checker_client):
    response = accounting_client.post(URL, manual(), format="json")
    assert response.status_code == 202, response.json()
    change = response.json()
    assert (change["kind"], change["status"], change["reason"]) == ("journal.manual", "PENDING", "November audit")
    assert change["payload"]["lines"][0] == {"gl_account": "5100", "debit": "1200.5", "account": None,
                                             "instrument": None}
    assert JournalEntry.objects.count() == 0
    assert accounting_client.post(f"/api/v1/approvals/{change['id']}/approve/", {}, format="json").status_code == 403
    assert JournalEntry.objects.count() == 0
    approved = checker_client.post(f"/api/v1/approvals/{change['id']}/approve/", {}, format="json")
    assert approved.status_code == 200 and approved.json()["status"] == "APPROVED", approved.json()
    entry = JournalEntry.objects.get()
    assert (entry.source_type, entry.source_id, entry.rule) == ("MANUAL", change["id"], "MANUAL")


@pytest.mark.parametrize("overrides, errors", [
    ({"lines": [{"gl_account": "5100", "debit": "100"}, {"gl_account": "2150", "credit": "90"}]},
     {"lines": ["Debits 100 and credits 90 do not balance (difference 10)."]}),
    ({"currency": "XYZ"}, {"currency": ["Unknown ISO 4217 currency code: 'XYZ'."]}),
    ({"currency": "EUR"}, {"currency": ["Cannot convert to USD: no EUR/USD FX rate on or before 2026-11-16."]}),
    ({"lines": [{"gl_account": "5100", "debit": "1"}, {"gl_account": "9999", "credit": "1"}]},
     {"lines": [{}, {"gl_account": ["Unknown GL account '9999'."]}]}),
    ({"lines": [{"gl_account": "5100", "debit": "0.12345"}, {"gl_account": "2150", "credit": "0.12345"}]}, None),
    ({"lines": [{"gl_account": "5100", "debit": "1", "credit": "1"}, {"gl_account": "2150", "credit": "1"}]},
     {"lines": [{"debit": ["Give a debit or a credit, not both."]}, {}]}),
    ({"lines": "all of them"}, {"lines": ["Expected a list of lines."]}),
    ({"entry_date": "16/11/2026"}, None),
])
def test_a_refused_manual_entry_is_400_at_its_fields_and_nothing_is_written(accounting_client, overrides, errors):
    response = accounting_client.post(URL, manual(**overrides), format="json")
    assert response.status_code == 400
    if errors is not None:
        assert response.json() == errors
    assert ChangeRequest.objects.count() == 0 and JournalEntry.objects.count() == 0


def test_a_manual_entry_in_a_closed_period_is_400_naming_the_period(accounting_client):
    Period.objects.create(start=date(2026, 11, 1), end=date(2026, 11, 30), status=Period.Status.CLOSED)
    response = accounting_client.post(URL, manual(), format="json")
    assert response.status_code == 400
    assert response.json()["entry_date"][0].startswith("The period 2026-11 is closed")
    assert ChangeRequest.objects.count() == 0


def test_a_eur_entry_with_a_rate_is_proposed(accounting_client):
    FxRate.objects.create(base_currency="EUR", quote_currency="USD", rate=Decimal("1.08"), rate_date=DAY, source="ECB")
    assert accounting_client.post(URL, manual(currency="EUR"), format="json").status_code == 202


def test_a_reversal_is_proposed_202_and_a_second_one_is_409(accounting_client, checker_client):
    change = accounting_client.post(URL, manual(), format="json").json()
    checker_client.post(f"/api/v1/approvals/{change['id']}/approve/", {}, format="json")
    entry = JournalEntry.objects.get()
    response = checker_client.post(f"{URL}{entry.pk}/reverse/", {"reason": "booked twice"}, format="json")
    assert response.status_code == 202 and response.json()["kind"] == "journal.reversal"
    assert checker_client.post(f"{URL}{entry.pk}/reverse/", {"reason": "again"}, format="json").status_code == 409
    approved = accounting_client.post(f"/api/v1/approvals/{response.json()['id']}/approve/", {}, format="json")
    assert approved.json()["status"] == "APPROVED", approved.json()
    body = accounting_client.get(f"{URL}{entry.pk}/").json()
    reversal = JournalEntry.objects.get(reversal_of=entry)
    assert body["reversed_by"] == reversal.pk
    assert accounting_client.get(f"{URL}{reversal.pk}/").json()["reversal_of"] == entry.pk
    assert checker_client.post(f"{URL}{entry.pk}/reverse/", {"reason": "again"}, format="json").status_code == 409


def test_a_reversal_needs_a_reason(accounting_client):
    entry = post_entry(lines=[("CASH", "1"), ("ACCOUNT_FUNDS", "-1")], entry_date=DAY, rule="MANUAL")
    response = accounting_client.post(f"{URL}{entry.pk}/reverse/", {}, format="json")
    assert response.status_code == 400 and "reason" in response.json()
    assert accounting_client.post(f"{URL}{entry.pk}/reverse/", {"reason": "x", "entry_date": "2026-11-01"},
                                  format="json").status_code == 400
    assert ChangeRequest.objects.count() == 0
