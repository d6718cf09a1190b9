"""Rejecting a held trade through the API: POST /api/v1/trades/{id}/reject/ proposes it (maker-checker)."""

from decimal import Decimal

import pytest

from records.approvals.models import ChangeRequest
from records.audit.models import AuditRecord
from records.positions.models import Position
from records.trades.models import Trade, TradeEvent
from tests.conftest import APPLE, client_for, make_user
from tests.records.helpers_trades import post, submit

pytestmark = pytest.mark.django_db


def position(account="ACC-001", isin=APPLE):
    return Position.objects.filter(account__code=account, instrument__isin=isin).first()


def held_trade(fo_client) -> int:
    response = submit(fo_client, quantity="300000", price="200")  # 60m > 50m: the notional-hold rule holds it
    assert response.status_code == 201 and response.json()["status"] == "HELD"
    return response.json()["id"]


def test_a_rejection_is_proposed_then_approved_by_another_user_and_the_trade_never_enters_the_position(
        fo_client, ops_client, refdata):
    booked = submit(fo_client, external_ref="OMS-LONG", quantity="100")
    assert booked.status_code == 201
    trade_id = held_trade(fo_client)
    before = position()
    assert before.traded_quantity == Decimal("100")

    proposed = post(ops_client, f"/api/v1/trades/{trade_id}/reject/", {"reason": "client denies the order"})

    assert proposed.status_code == 202, proposed.content
    body = proposed.json()
    assert (body["kind"], body["status"], body["payload"]) == ("trade.reject", "PENDING", {"trade_id": trade_id})
    assert body["before"]["status"] == "HELD"
    assert Trade.objects.get(pk=trade_id).status == "HELD"
    approve_url = f"/api/v1/approvals/{body['id']}/approve/"
    assert post(ops_client, approve_url, {}).status_code == 403  # four eyes: not the proposer
    assert post(ops_client, f"/api/v1/trades/{trade_id}/reject/", {"reason": "twice"}).status_code == 409
    assert post(ops_client, f"/api/v1/trades/{trade_id}/release/", {"reason": "or release"}).status_code == 409
    assert Trade.objects.get(pk=trade_id).status == "HELD"

    approved = post(client_for(make_user("checker", "compliance")), approve_url, {})

    assert approved.status_code == 200 and approved.json()["status"] == "APPROVED", approved.content
    trade = Trade.objects.get(pk=trade_id)
    assert trade.status == "REJECTED"
    after = position()
    assert (after.traded_quantity, after.settled_quantity) == (before.traded_quantity, before.settled_quantity)
    event = TradeEvent.objects.get(trade=trade, action="REJECT")
    assert (event.actor.username, event.from_status, event.to_status) == ("checker", "HELD", "REJECTED")
    assert event.reason == f"change request #{body['id']}: client denies the order"
    audit = AuditRecord.objects.get(record_type="records.trade", record_id=str(trade_id), action="TRANSITION")
    assert (audit.before["status"], audit.after["status"]) == ("HELD", "REJECTED")
    history = fo_client.get(f"/api/v1/trades/{trade_id}/").json()["history"]
    assert [(h["action"], h["to_status"]) for h in history][-1] == ("REJECT", "REJECTED")
    # Decided: neither a release nor another rejection.
    assert post(ops_client, f"/api/v1/trades/{trade_id}/reject/", {"reason": "again"}).status_code == 409
    assert post(ops_client, f"/api/v1/trades/{trade_id}/release/", {"reason": "again"}).status_code == 409


def test_a_trade_that_is_not_held_cannot_be_rejected(fo_client, ops_client, refdata):
    trade_id = submit(fo_client).json()["id"]
    response = post(ops_client, f"/api/v1/trades/{trade_id}/reject/", {"reason": "no"})
    assert response.status_code == 409
    assert "not HELD" in response.json()["detail"]
    assert Trade.objects.get(pk=trade_id).status == "BOOKED"
    assert not ChangeRequest.objects.exists()


@pytest.mark.parametrize(("body", "field"), [({}, "reason"), ({"reason": ""}, "reason"),
                                             ({"reason": 12}, "reason"), ({"reason": "a\x00b"}, "reason")])
def test_a_rejection_needs_a_printable_reason(fo_client, ops_client, refdata, body, field):
    trade_id = held_trade(fo_client)
    response = post(ops_client, f"/api/v1/trades/{trade_id}/reject/", body)
    assert response.status_code == 400
    assert field in response.json()
    assert not ChangeRequest.objects.exists()


def test_roles_and_unknown_trades(fo_client, ops_client, compliance_client, accounting_client, client, refdata):
    trade_id = held_trade(fo_client)
    assert post(fo_client, f"/api/v1/trades/{trade_id}/reject/", {"reason": "x"}).status_code == 403
    assert post(accounting_client, f"/api/v1/trades/{trade_id}/reject/", {"reason": "x"}).status_code == 403
    assert client.post(f"/api/v1/trades/{trade_id}/reject/", {"reason": "x"},
                       content_type="application/json").status_code == 401
    assert post(ops_client, "/api/v1/trades/999999/reject/", {"reason": "x"}).status_code == 404
    assert not ChangeRequest.objects.exists()
    assert post(compliance_client, f"/api/v1/trades/{trade_id}/reject/", {"reason": "x"}).status_code == 202
