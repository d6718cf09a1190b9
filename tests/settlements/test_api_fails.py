# ruff: noqa: F811 - the fixtures imported from helpers_fails are parameters of the tests
"""GET /api/v1/settlements/fails/ (open as of a date, age, penalties accrued, Reg SHO deadline, filters), a fail
with its penalties, PATCH of its Reg SHO basis, POST .../penalties/ (the job); roles; 400s, never 500s."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from backoffice.core.jobs.models import JobRun
from records.audit.models import AuditRecord
from settlements.fails import services
from settlements.models import SettlementFail
from tests.conftest import client_for, make_user
from tests.settlements.helpers_fails import EU_SETTLES, US_SETTLES, desk  # noqa: F401

pytestmark = pytest.mark.django_db

URL = "/api/v1/settlements/fails/"


@pytest.fixture
def book(desk):
    """Three open fails and a closed one, with penalties accrued on 23 to 25 November."""
    aapl = desk.fail(symbol="AAPL", side="SELL", quantity="100")  # fails to deliver from Mon 23 Nov
    msft = desk.fail(symbol="MSFT", side="BUY", quantity="10", price="415.10", cause="CASH", account="HOUSE",
                     counterparty="BRKR-B")
    sap = desk.fail(symbol="SAP", side="SELL", quantity="50", price="187.36", cause="COUNTERPARTY")  # from 24 Nov
    closed = desk.fail(symbol="AAPL", side="SELL", quantity="5", closed_on=date(2026, 11, 24))
    desk.price("AAPL", US_SETTLES, "189.25")
    desk.price("SAP", EU_SETTLES, "190")
    for day in (US_SETTLES, EU_SETTLES, date(2026, 11, 25)):
        with transaction.atomic():
            services.fail_regsho_fill(as_of=day, actor="test")
            services.fail_penalties_accrue(penalty_date=day, actor="test")
    return {"aapl": aapl, "msft": msft, "sap": sap, "closed": closed}


def test_the_open_fails_as_of_a_date_with_age_penalties_and_close_out_deadline(ops_client, book):
    response = ops_client.get(URL, {"as_of": "2026-11-25"})

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert [row["id"] for row in body["results"]] == [book["aapl"].pk, book["msft"].pk, book["sap"].pk]
    assert body["results"][0] == {
        "id": book["aapl"].pk, "instruction": book["aapl"].instruction_id, "account": "ACC-001",
        "counterparty": "BRKR-A", "instrument": "US0378331005", "settlement_date": "2026-11-23", "kind": "DELIVER",
        "cause": "SECURITIES", "failed_on": "2026-11-23", "closed_on": None, "unsettled_quantity": "100",
        "currency": "USD", "age_days": 2, "age_bucket": "2-3",
        "penalty_accrued": "5.67",  # 1.89 a day, three days
        "penalty_payable": True, "regsho_basis": "LONG", "close_out_deadline": "2026-11-27", "close_out_state": ""}
    msft, sap = body["results"][1], body["results"][2]
    # 4,151 x 2.40%/365 = 0.2729 a day
    assert (msft["account"], msft["kind"], msft["penalty_accrued"], msft["penalty_payable"]) == (
        "HOUSE", "RECEIVE", "0.81", True)
    assert (msft["regsho_basis"], msft["close_out_deadline"]) == ("", None)
    # SAP failed on Tue 24 Nov in T2S: one settlement day old on the 25th. The counterparty did not pay for our
    # delivery: a lack of cash, 9,368 x 2.40%/365 = 0.616 a day, which we receive.
    assert (sap["age_days"], sap["age_bucket"], sap["penalty_accrued"], sap["penalty_payable"], sap["currency"]) == (
        1, "0-1", "1.24", False, "EUR")


def test_as_of_counts_only_what_was_open_and_accrued_by_then(ops_client, book):
    body = ops_client.get(URL, {"as_of": "2026-11-23"}).json()

    assert [row["id"] for row in body["results"]] == [book["aapl"].pk, book["msft"].pk, book["closed"].pk]
    assert [(row["age_days"], row["penalty_accrued"]) for row in body["results"]] == [
        (0, "1.89"), (0, "0.27"), (0, "0.09")]


def test_a_close_out_deadline_reached_is_due_then_overdue(ops_client, book):
    due = ops_client.get(URL, {"as_of": "2026-11-27", "regsho": "due"}).json()["results"]
    overdue = ops_client.get(URL, {"as_of": "2026-11-30", "regsho": "overdue"}).json()["results"]

    assert [(row["id"], row["close_out_state"]) for row in due] == [(book["aapl"].pk, "due")]
    assert [(row["id"], row["close_out_state"]) for row in overdue] == [(book["aapl"].pk, "overdue")]
    assert ops_client.get(URL, {"as_of": "2026-11-25", "regsho": "due-or-overdue"}).json()["count"] == 0


def test_filters_by_account_counterparty_instrument_kind_cause_and_age_bucket(ops_client, book):
    def ids(**params):
        return [row["id"] for row in ops_client.get(URL, {"as_of": "2026-11-25", **params}).json()["results"]]

    assert ids(account="HOUSE") == [book["msft"].pk]
    assert ids(counterparty="BRKR-A") == [book["aapl"].pk, book["sap"].pk]
    assert ids(instrument="DE0007164600") == [book["sap"].pk]
    assert ids(kind="RECEIVE") == [book["msft"].pk]
    assert ids(cause="COUNTERPARTY") == [book["sap"].pk]
    assert ids(age_bucket="2-3") == [book["aapl"].pk, book["msft"].pk]
    assert ids(age_bucket="0-1") == [book["sap"].pk]
    assert ids(age_bucket=">10") == []
    assert ids(account="NOBODY") == []


@pytest.mark.parametrize(("params", "field"), [
    ({"as_of": "2026-13-01"}, "as_of"), ({"as_of": "20261125"}, "as_of"), ({"as_of": ""}, "as_of"),
    ({"age_bucket": "3-4"}, "age_bucket"), ({"kind": "LEND"}, "kind"), ({"regsho": "soon"}, "regsho"),
    ({"page_size": "many"}, "page_size"),
])
def test_a_malformed_query_is_a_400_naming_the_parameter(ops_client, book, params, field):
    response = ops_client.get(URL, params)

    assert response.status_code == 400
    assert field in response.json()


def test_as_of_given_twice_is_a_400(ops_client, book):
    response = ops_client.get(URL + "?as_of=2026-11-24&as_of=2026-11-25")
    assert response.status_code == 400
    assert response.json() == {"as_of": ["Give this parameter once."]}


def test_today_is_the_default_date(ops_client, desk):
    fail = desk.fail(symbol="AAPL", side="SELL", quantity="100")
    body = ops_client.get(URL).json()
    assert [row["id"] for row in body["results"]] == [fail.pk]
    assert body["results"][0]["age_days"] > 5


def test_a_fail_with_its_penalties_day_by_day(accounting_client, book):
    response = accounting_client.get(f"{URL}{book['aapl'].pk}/", {"as_of": "2026-11-24"})

    assert response.status_code == 200
    body = response.json()
    assert (body["age_days"], body["penalty_accrued"], body["instruction_status"]) == (1, "3.78", "FAILED")
    assert body["penalties"] == [
        {"penalty_date": "2026-11-23", "unsettled_quantity": "100", "reference_price": "189.25", "rate": "0.0001",
         "amount": "1.89", "currency": "USD"},
        {"penalty_date": "2026-11-24", "unsettled_quantity": "100", "reference_price": "189.25", "rate": "0.0001",
         "amount": "1.89", "currency": "USD"}]


def test_a_closed_fail_ages_until_it_closed(ops_client, book):
    body = ops_client.get(f"{URL}{book['closed'].pk}/", {"as_of": "2026-11-30"}).json()
    assert (body["closed_on"], body["age_days"], body["penalty_accrued"]) == ("2026-11-24", 1, "0.09")


def test_an_unknown_fail_is_a_404(ops_client, book):
    assert ops_client.get(f"{URL}999999/").status_code == 404
    assert ops_client.patch(f"{URL}999999/", {"regsho_basis": "SHORT", "reason": "x"}, format="json"
                            ).status_code == 404


def test_operations_set_the_short_basis_and_the_deadline_follows(ops_client, book):
    response = ops_client.patch(f"{URL}{book['aapl'].pk}/", {"regsho_basis": "SHORT", "reason": "short sale: locate "
                                                                                            "L-77"}, format="json")

    assert response.status_code == 200
    assert (response.json()["regsho_basis"], response.json()["close_out_deadline"]) == ("SHORT", "2026-11-24")
    record = AuditRecord.objects.filter(record_type="settlements.settlementfail",
                                        record_id=str(book["aapl"].pk)).latest("id")
    assert (record.actor_label, record.reason, record.before["regsho_basis"], record.after["close_out_deadline"]) == (
        "ops", "short sale: locate L-77", "LONG", "2026-11-24")

    rule_144 = ops_client.patch(f"{URL}{book['aapl'].pk}/", {"regsho_basis": "RULE_144", "reason": "legend"},
                                format="json")
    # trade date Fri 20 Nov + 35 calendar days: Christmas Day, so the last settlement day before it
    assert rule_144.json()["close_out_deadline"] == "2026-12-24"


@pytest.mark.parametrize(("fail", "body", "status", "expected"), [
    ("aapl", {"regsho_basis": "NAKED", "reason": "x"}, 400, {"regsho_basis"}),
    ("aapl", {"regsho_basis": "SHORT", "reason": " "}, 400, {"reason"}),
    ("aapl", {"regsho_basis": "SHORT"}, 400, {"reason"}),
    ("msft", {"regsho_basis": "SHORT", "reason": "x"}, 400, {"regsho_basis"}),  # a fail to receive
    ("sap", {"regsho_basis": "SHORT", "reason": "x"}, 400, {"regsho_basis"}),  # XETR
    ("closed", {"regsho_basis": "SHORT", "reason": "x"}, 409, {"detail"}),
])
def test_a_refused_basis_changes_nothing(ops_client, book, fail, body, status, expected):
    before = SettlementFail.objects.values_list("id", "regsho_basis", "close_out_deadline").order_by("id")
    before = list(before)

    response = ops_client.patch(f"{URL}{book[fail].pk}/", body, format="json")

    assert response.status_code == status
    assert set(response.json()) == expected
    assert list(SettlementFail.objects.values_list("id", "regsho_basis", "close_out_deadline").order_by("id")) == before


def test_starting_the_penalty_job_answers_202_with_it(ops_client, book, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = ops_client.post(URL + "penalties/", {"date": "2026-11-27"}, format="json")

    assert response.status_code == 202
    body = response.json()
    assert (body["kind"], body["status"], body["parameters"]["date"]) == ("fail-penalties", "QUEUED", "2026-11-27")
    job = JobRun.objects.get(pk=body["id"])
    assert job.status == "COMPLETED"
    assert book["aapl"].penalties.filter(penalty_date=date(2026, 11, 27)).get().amount == Decimal("1.89")


@pytest.mark.parametrize(("body", "message"), [
    ({"date": "2026-11-28"}, "not a settlement day"), ({"date": "27/11/2026"}, "YYYY-MM-DD"), ({}, "required"),
    ({"date": (timezone.localdate() + timedelta(days=3)).isoformat()}, "not over yet"),
    ({"date": timezone.localdate().isoformat()}, "not over yet"),
])
def test_a_bad_penalty_date_is_a_400_and_starts_nothing(ops_client, book, body, message):
    response = ops_client.post(URL + "penalties/", body, format="json")

    assert response.status_code == 400
    assert message in " ".join(response.json()["date"])
    assert not JobRun.objects.exists()


def test_roles(book, fo_client, compliance_client, anon_client):
    accounting = client_for(make_user("books", "accounting"))
    assert anon_client.get(URL).status_code == 401
    assert fo_client.get(URL).status_code == 403
    assert compliance_client.get(URL).status_code == 200
    assert accounting.get(f"{URL}{book['aapl'].pk}/").status_code == 200
    assert compliance_client.patch(f"{URL}{book['aapl'].pk}/", {"regsho_basis": "SHORT", "reason": "x"},
                                   format="json").status_code == 403
    assert compliance_client.post(URL + "penalties/", {"date": "2026-11-27"}, format="json").status_code == 403
