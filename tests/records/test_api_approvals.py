"""Maker-checker through the API: propose, list, approve, reject and withdraw, each refused to whom it should be."""

import json
from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction

from records.approvals.models import ChangeRequest
from records.cash import services as cash
from records.cash.models import CashBalance, CashMovement
from records.reference.models import Account
from tests.conftest import client_for, make_user
from tests.records.helpers_approvals import APPROVED, FAILED, PENDING, REJECTED, WITHDRAWN

pytestmark = pytest.mark.django_db


def post(client, url, body=None):
    return client.post(url, data=json.dumps(body or {}), content_type="application/json")


CASH_BODY = {"kind": "cash.adjustment", "reason": "bank charge booked twice",
             "payload": {"account": "ACC-001", "currency": "USD", "amount": "-250.25", "value_date": "2026-11-20",
                         "reference": "ADJ-API-1"}}


def test_api_propose_list_and_approve(world):
    maker, checker = client_for(world.maker), client_for(world.checker)
    trader = client_for(make_user("fo-2", "front_office"))

    response = post(maker, "/api/v1/approvals/", CASH_BODY)

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"id", "kind", "summary", "target_type", "target_id", "payload", "before", "status", "reason",
                         "proposed_by", "proposed_at", "decided_by", "decided_at", "decision_reason", "result"}
    assert (body["kind"], body["status"], body["proposed_by"], body["decided_by"], body["target_type"],
            body["target_id"]) == ("cash.adjustment", PENDING, "maker", None, "records.cashbalance", "ACC-001/USD")
    assert body["payload"]["amount"] == "-250.25" and body["before"] == {"balance": "1000", "available": "1000"}
    change_id = body["id"]

    assert maker.get("/api/v1/approvals/").json()["count"] == 0  # not theirs to decide
    assert [c["id"] for c in maker.get("/api/v1/approvals/?mine=true").json()["results"]] == [change_id]
    assert [c["id"] for c in checker.get("/api/v1/approvals/").json()["results"]] == [change_id]
    assert checker.get("/api/v1/approvals/?kind=account.update").json()["count"] == 0
    assert trader.get("/api/v1/approvals/").json()["count"] == 0
    assert checker.get(f"/api/v1/approvals/{change_id}/").status_code == 200
    assert trader.get(f"/api/v1/approvals/{change_id}/").status_code == 404

    refused = post(maker, f"/api/v1/approvals/{change_id}/approve/")
    assert refused.status_code == 403 and "another user" in refused.json()["detail"]
    assert post(trader, f"/api/v1/approvals/{change_id}/approve/").status_code == 403
    assert CashBalance.objects.get(account__code="ACC-001", currency="USD").balance == Decimal("1000")

    approved = post(checker, f"/api/v1/approvals/{change_id}/approve/", {"reason": "statement checked"})

    assert approved.status_code == 200, approved.content
    assert (approved.json()["status"], approved.json()["decided_by"], approved.json()["decision_reason"]) == (
        APPROVED, "checker", "statement checked")
    assert CashBalance.objects.get(account__code="ACC-001", currency="USD").balance == Decimal("749.75")
    again = post(client_for(make_user("checker-2", "operations")), f"/api/v1/approvals/{change_id}/approve/")
    assert again.status_code == 409 and "detail" in again.json()
    assert checker.get("/api/v1/approvals/").json()["count"] == 0
    assert checker.get("/api/v1/approvals/?status=APPROVED").json()["count"] == 1


def test_api_reject_needs_a_reason_and_the_proposer_cannot_reject(world):
    maker, checker = client_for(world.maker), client_for(world.checker)
    change_id = post(maker, "/api/v1/approvals/", CASH_BODY).json()["id"]

    missing = post(checker, f"/api/v1/approvals/{change_id}/reject/")
    assert (missing.status_code, missing.json()) == (400, {"reason": ["This field is required."]})
    assert post(maker, f"/api/v1/approvals/{change_id}/reject/", {"reason": "mine"}).status_code == 403

    rejected = post(checker, f"/api/v1/approvals/{change_id}/reject/", {"reason": "no such charge"})

    assert rejected.status_code == 200
    assert (rejected.json()["status"], rejected.json()["decision_reason"]) == (REJECTED, "no such charge")
    assert maker.get("/api/v1/approvals/?mine=true&status=REJECTED").json()["count"] == 1
    assert not CashMovement.objects.filter(kind="ADJUSTMENT").exists()


def test_api_withdraw_is_for_the_proposer_only(world):
    maker, checker = client_for(world.maker), client_for(world.checker)
    change_id = post(maker, "/api/v1/approvals/", CASH_BODY).json()["id"]

    assert post(checker, f"/api/v1/approvals/{change_id}/withdraw/").status_code == 403
    withdrawn = post(maker, f"/api/v1/approvals/{change_id}/withdraw/")

    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == WITHDRAWN
    assert post(checker, f"/api/v1/approvals/{change_id}/approve/").status_code == 409


def test_api_a_failed_approval_answers_with_the_error(world):
    maker, checker = client_for(world.maker), client_for(world.checker)
    change_id = post(maker, "/api/v1/approvals/", CASH_BODY).json()["id"]
    with transaction.atomic():
        cash.cash_movement_create(actor="test", account=Account.objects.get(code="ACC-001"), currency="USD",
                                  amount=Decimal("-1900"), value_date=date(2026, 11, 20), reference="WD-1")

    response = post(checker, f"/api/v1/approvals/{change_id}/approve/")

    assert response.status_code == 200
    assert response.json()["status"] == FAILED and "Insufficient cash" in response.json()["result"]["error"]
    assert CashBalance.objects.get(account__code="ACC-001", currency="USD").balance == Decimal("-900")


def test_api_bad_proposals(world):
    maker = client_for(world.maker)
    bad_amount = post(maker, "/api/v1/approvals/", {**CASH_BODY, "payload": {**CASH_BODY["payload"], "amount": "x"}})
    assert bad_amount.status_code == 400 and "amount" in bad_amount.json()["payload"]
    assert post(maker, "/api/v1/approvals/", {**CASH_BODY, "kind": "ledger.rewrite"}).status_code == 400
    no_reason = post(maker, "/api/v1/approvals/", {**CASH_BODY, "reason": ""})
    assert (no_reason.status_code, no_reason.json()) == (400, {"reason": ["This field may not be blank."]})
    not_a_mapping = post(maker, "/api/v1/approvals/", {**CASH_BODY, "payload": [1]})
    assert (not_a_mapping.status_code, not_a_mapping.json()) == (
        400, {"payload": ['Expected a dictionary of items but got type "list".']})
    overdraw = post(maker, "/api/v1/approvals/", {**CASH_BODY, "payload": {**CASH_BODY["payload"], "amount": "-9000"}})
    assert overdraw.status_code == 400 and "Insufficient cash" in overdraw.json()["payload"]["amount"][0]
    assert post(client_for(world.outsider), "/api/v1/approvals/", CASH_BODY).status_code == 403
    assert post(maker, "/api/v1/approvals/", {"kind": "trade.release", "reason": "r",
                                              "payload": {"trade_id": 10**9}}).status_code == 400
    assert not ChangeRequest.objects.exists()


def test_api_unknown_changes_are_404_and_anonymous_is_401(world, anon_client):
    checker = client_for(world.checker)
    assert checker.get("/api/v1/approvals/999/").status_code == 404
    for action in ("approve", "reject", "withdraw"):
        assert post(checker, f"/api/v1/approvals/999/{action}/", {"reason": "x"}).status_code == 404
    assert anon_client.get("/api/v1/approvals/").status_code == 401
    assert post(anon_client, "/api/v1/approvals/", CASH_BODY).status_code == 401


def test_api_trade_release_is_a_proposal(world):
    maker, officer = client_for(world.maker), client_for(make_user("officer", "compliance"))
    trade_id = world.held_trade.pk

    response = post(maker, f"/api/v1/trades/{trade_id}/release/", {"reason": "client confirmed"})

    assert response.status_code == 202
    assert response.json()["payload"] == {"trade_id": trade_id}
    assert maker.get(f"/api/v1/trades/{trade_id}/").json()["status"] == "HELD"
    assert post(officer, f"/api/v1/approvals/{response.json()['id']}/approve/").status_code == 200
    assert maker.get(f"/api/v1/trades/{trade_id}/").json()["status"] == "BOOKED"


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["", "yes", "1", "True", "on"])
def test_mine_is_true_or_false_and_anything_else_is_a_400_naming_it(value):
    maker = client_for(make_user("maker-b", "operations"))

    response = maker.get(f"/api/v1/approvals/?mine={value}")

    assert response.status_code == 400
    assert "mine" in response.json()
    assert maker.get("/api/v1/approvals/?mine=false").status_code == 200
