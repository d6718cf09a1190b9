"""The cash API: a movement is idempotent by its reference, refused beyond the credit limit, audited; balances."""

import json
from decimal import Decimal

import pytest

from records.audit.models import AuditRecord
from records.cash.models import CashBalance, CashMovement

pytestmark = pytest.mark.django_db


def post(client, body):
    return client.post("/api/v1/cash/", data=json.dumps(body), content_type="application/json")


DEPOSIT = {"account": "ACC-001", "currency": "USD", "amount": "1000000.50", "value_date": "2026-11-20",
           "reference": "WIRE-1"}


def test_deposit_then_repeat_is_idempotent(ops_client, accounts):
    first = post(ops_client, DEPOSIT)
    assert first.status_code == 201, first.content
    assert first.json()["kind"] == "DEPOSIT" and first.json()["amount"] == "1000000.5"
    again = post(ops_client, DEPOSIT)
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert CashMovement.objects.count() == 1
    assert CashBalance.objects.get().balance == Decimal("1000000.50")


def test_same_reference_different_body_is_409_and_changes_nothing(ops_client, accounts):
    post(ops_client, DEPOSIT)
    response = post(ops_client, {**DEPOSIT, "amount": "5"})
    assert response.status_code == 409
    assert CashBalance.objects.get().balance == Decimal("1000000.50")


def test_balances_endpoint(ops_client, fo_client, accounts):
    post(ops_client, DEPOSIT)
    post(ops_client, {**DEPOSIT, "amount": "-250.25", "reference": "WIRE-2"})
    post(ops_client, {**DEPOSIT, "currency": "EUR", "amount": "10", "reference": "WIRE-3"})
    body = fo_client.get("/api/v1/cash/balances/?account=ACC-001&currency=USD").json()
    # available = balance - reserved + the account's credit limit (1,000)
    assert body["results"] == [{"account": "ACC-001", "currency": "USD", "balance": "999750.25",
                                "available": "1000750.25", "reserved": "0", "credit_limit": "1000"}]
    assert fo_client.get("/api/v1/cash/balances/?account=ACC-001").json()["count"] == 2


def test_withdrawal_beyond_available_plus_credit_limit_is_refused(ops_client, accounts):
    post(ops_client, {**DEPOSIT, "amount": "100"})
    # ACC-001 has a credit limit of 1000: it may go to -1000 and no further.
    ok = post(ops_client, {**DEPOSIT, "amount": "-1100", "reference": "W-1"})
    assert ok.status_code == 201
    refused = post(ops_client, {**DEPOSIT, "amount": "-0.01", "reference": "W-2"})
    assert refused.status_code == 400 and list(refused.json()) == ["amount"]
    assert CashBalance.objects.get().balance == Decimal("-1000")
    assert not CashMovement.objects.filter(reference="W-2").exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"amount": "0"}, "amount"),
        ({"amount": "1.001"}, "amount"),  # USD has two decimal places
        ({"amount": 0.1 + 0.2}, "amount"),
        ({"amount": "12,50"}, "amount"),
        ({"currency": "JPY", "amount": "1.5"}, "amount"),  # yen has none
        ({"currency": "ABC"}, "currency"),
        ({"account": "NOPE"}, "account"),
        ({"value_date": "yesterday"}, "value_date"),
        ({"value_date": "20261120"}, "value_date"),  # as a cash adjustment's value date is read
        ({"reference": ""}, "reference"),
    ],
)
def test_bad_cash_input_is_400(ops_client, accounts, overrides, field):
    response = post(ops_client, {**DEPOSIT, **overrides})
    assert response.status_code == 400, response.content
    assert list(response.json()) == [field], response.json()
    assert CashMovement.objects.count() == 0


def test_cash_needs_a_role_that_may_move_cash(accounting_client, accounts):
    assert post(accounting_client, DEPOSIT).status_code == 403
    assert accounting_client.get("/api/v1/cash/balances/").status_code == 200


def test_closed_account_takes_no_cash(ops_client, accounts):
    accounts["ACC-001"].status = "CLOSED"
    accounts["ACC-001"].save()
    response = post(ops_client, DEPOSIT)
    assert (response.status_code, response.json()) == (400, {"account": ["Account ACC-001 is closed."]})
    assert CashMovement.objects.count() == 0


def test_every_movement_is_audited_in_its_transaction(ops_client, operations_user, accounts):
    post(ops_client, DEPOSIT)
    audit = AuditRecord.objects.get(record_type="records.cashmovement")
    assert audit.actor == operations_user and audit.after["amount"] == "1000000.5"
