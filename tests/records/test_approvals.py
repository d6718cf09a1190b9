"""Maker-checker: a manual change takes effect only when a different user with the right role approves it.

Through the services, the API and the admin; for every registered kind of change.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.db import transaction
from django.urls import reverse

from backoffice.core.exceptions import BusinessRuleError, ConflictError, ForbiddenError
from records.approvals import kinds
from records.approvals import services as approvals
from records.approvals.models import ChangeRequest
from records.audit.models import AuditRecord
from records.cash import services as cash
from records.cash.models import CashBalance, CashMovement
from records.positions.models import Position, StockMovement
from records.reference.models import Account, Counterparty, Instrument
from records.reference.services import reference
from records.trades import services as trades
from records.trades.models import Trade, TradeEvent
from tests.conftest import APPLE, client_for, make_user

pytestmark = pytest.mark.django_db

NEW_ISIN = "US88160R1014"  # Tesla
NEW_LEI = "529900T8BM49AURSDO55"
PENDING, APPROVED, REJECTED, FAILED, WITHDRAWN = (s.value for s in ChangeRequest.Status)


@dataclass
class World:
    maker: object  # operations: proposes
    checker: object  # operations: approves
    outsider: object  # accounting: may approve nothing
    held_trade: Trade


@pytest.fixture
def world(instruments, accounts, counterparties) -> World:
    trader = make_user("trader", "front_office")
    with transaction.atomic():
        cash.cash_movement_create(actor="test", account=accounts["ACC-001"], currency="USD", amount=Decimal("1000"),
                                  value_date=date(2026, 11, 19), reference="DEP-1")
    # 60m notional is over the 50m hold limit: the trade is HELD by pre-trade checks.
    result = trades.trade_submit(submitted_by=trader, item=trades.TradeInput(
        external_ref="OMS-HELD", account="ACC-001", counterparty="BRKR-A", instrument=APPLE, side="BUY",
        quantity=Decimal("300000"), price=Decimal("200"), trade_date=date(2026, 11, 20)))
    assert result.trade.status == "HELD"
    return World(maker=make_user("maker", "operations"), checker=make_user("checker", "operations"),
                 outsider=make_user("accountant", "accounting"), held_trade=result.trade)


def books() -> dict:
    """Everything a change could touch, row by row."""
    models = (Account, Counterparty, Instrument, CashBalance, CashMovement, Position, StockMovement, Trade,
              TradeEvent)
    return {model.__name__: list(model.objects.order_by("pk").values()) for model in models}


def audits(record_type: str, **filters):
    return AuditRecord.objects.filter(record_type=record_type, **filters).order_by("id")


# One case per registered kind ---------------------------------------------------------------------

def _account_updated(w, change):
    account = Account.objects.get(code="ACC-001")
    assert (account.status, account.credit_limit, account.name) == ("SUSPENDED", Decimal("2500.50"), "Client One")


def _account_created(w, change):
    account = Account.objects.get(code="ACC-NEW")
    assert (account.name, account.kind, account.base_currency, account.status, account.cost_method,
            account.allow_partial_settlement, account.credit_limit) == (
        "New Client", "CLIENT", "EUR", "ACTIVE", "FIFO", True, Decimal("10"))


def _counterparty_updated(w, change):
    broker = Counterparty.objects.get(code="BRKR-A")
    assert (broker.name, broker.clears_through_id, broker.requires_matching) == ("Broker A Ltd", None, True)


def _counterparty_created(w, change):
    broker = Counterparty.objects.get(code="BRKR-B")
    assert (broker.name, broker.lei, broker.clears_through.code, broker.is_ccp, broker.requires_matching) == (
        "Broker B", NEW_LEI, "NSCC", False, True)


def _instrument_updated(w, change):
    apple = Instrument.objects.get(isin=APPLE)
    assert (apple.name, apple.settlement_cycle, apple.symbol, apple.market_id) == (
        "Apple Inc. (renamed)", 2, "AAPL", "XNAS")


def _instrument_created(w, change):
    tesla = Instrument.objects.get(isin=NEW_ISIN)
    assert (tesla.symbol, tesla.name, tesla.asset_class, tesla.currency, tesla.market_id, tesla.settlement_cycle) == (
        "TSLA", "Tesla Inc.", "EQUITY", "USD", "XNAS", None)


def _cash_adjusted(w, change):
    balance = CashBalance.objects.get(account__code="ACC-001", currency="USD")
    assert balance.balance == Decimal("749.75")
    movement = CashMovement.objects.get(kind="ADJUSTMENT")
    assert (movement.amount, movement.reference, movement.value_date, movement.created_by) == (
        Decimal("-250.25"), "ADJ-TEST-1", date(2026, 11, 20), w.checker)
    assert change.result == {"cash_movement": movement.pk, "reference": "ADJ-TEST-1", "balance": "749.75"}


def _position_adjusted(w, change):
    position = Position.objects.get(account__code="ACC-001", instrument__isin=APPLE)
    # The held trade is outside the position: only the adjustment is in it.
    assert (position.traded_quantity, position.settled_quantity) == (Decimal("15"), Decimal("15"))
    movement = StockMovement.objects.get(kind="ADJUSTMENT")
    assert (movement.quantity, movement.reference, movement.created_by) == (Decimal("15"), "ADJ-TEST-2", w.checker)


def _trade_released(w, change):
    trade = Trade.objects.get(pk=w.held_trade.pk)
    assert trade.status == "BOOKED"
    position = Position.objects.get(account__code="ACC-001", instrument__isin=APPLE)
    assert (position.traded_quantity, position.pending_receipt) == (Decimal("300000"), Decimal("300000"))
    event = TradeEvent.objects.get(trade=trade, action="RELEASE")
    assert (event.actor, event.reason) == (w.checker, f"change request #{change.pk}: desk confirmed the client")


@dataclass(frozen=True)
class Case:
    kind: str
    payload: Callable[[World], dict]
    applied: Callable[[World, ChangeRequest], None]
    audit_type: str  # the record the applied change audits
    target_id: Callable[[World], str]

    def __str__(self):
        return self.kind


CASES = [
    Case("account.update", lambda w: {"code": "ACC-001", "changes": {"status": "SUSPENDED", "credit_limit": "2500.50"}},
         _account_updated, "records.account", lambda w: "ACC-001"),
    Case("account.create", lambda w: {"code": "ACC-NEW", "name": "New Client", "kind": "CLIENT",
                                      "base_currency": "EUR", "credit_limit": "10"},
         _account_created, "records.account", lambda w: "ACC-NEW"),
    Case("counterparty.update", lambda w: {"code": "BRKR-A", "changes": {"name": "Broker A Ltd",
                                                                         "clears_through": None}},
         _counterparty_updated, "records.counterparty", lambda w: "BRKR-A"),
    Case("counterparty.create", lambda w: {"code": "BRKR-B", "name": "Broker B", "lei": NEW_LEI,
                                           "clears_through": "NSCC"},
         _counterparty_created, "records.counterparty", lambda w: "BRKR-B"),
    Case("instrument.update", lambda w: {"isin": APPLE, "changes": {"name": "Apple Inc. (renamed)",
                                                                    "settlement_cycle": 2}},
         _instrument_updated, "records.instrument", lambda w: APPLE),
    Case("instrument.create", lambda w: {"isin": NEW_ISIN, "symbol": "TSLA", "name": "Tesla Inc.",
                                         "asset_class": "EQUITY", "currency": "USD", "market": "XNAS"},
         _instrument_created, "records.instrument", lambda w: NEW_ISIN),
    Case("cash.adjustment", lambda w: {"account": "ACC-001", "currency": "USD", "amount": "-250.25",
                                       "value_date": "2026-11-20", "reference": "ADJ-TEST-1",
                                       "description": "bank charge booked twice"},
         _cash_adjusted, "records.cashmovement", lambda w: "ACC-001/USD"),
    Case("position.adjustment", lambda w: {"account": "ACC-001", "instrument": APPLE, "quantity": "15",
                                           "value_date": "2026-11-20", "reference": "ADJ-TEST-2"},
         _position_adjusted, "records.stockmovement", lambda w: f"ACC-001/{APPLE}"),
    Case("trade.release", lambda w: {"trade_id": w.held_trade.pk}, _trade_released, "records.trade",
         lambda w: str(w.held_trade.pk)),
]


def test_every_registered_kind_has_a_case():
    assert {case.kind for case in CASES} == {spec.kind for spec in kinds.change_kinds()}


@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_change_takes_effect_only_when_another_user_with_the_role_approves_it(world, case):
    w = world
    unchanged = books()
    reason = "desk confirmed the client"

    change = approvals.change_propose(actor=w.maker, kind=case.kind, payload=case.payload(w), reason=reason)

    assert (change.status, change.kind, change.target_id, change.proposed_by) == (PENDING, case.kind,
                                                                                   case.target_id(w), w.maker)
    assert books() == unchanged
    assert not audits(case.audit_type).filter(actor=w.maker).exists()

    with pytest.raises(ForbiddenError):
        approvals.change_approve(actor=w.maker, change_id=change.pk)
    assert books() == unchanged
    with pytest.raises(ForbiddenError):
        approvals.change_approve(actor=w.outsider, change_id=change.pk)
    assert books() == unchanged
    assert ChangeRequest.objects.get(pk=change.pk).status == PENDING

    change = approvals.change_approve(actor=w.checker, change_id=change.pk, reason="checked the statement")

    assert change.status == APPROVED, change.result
    assert (change.decided_by, change.decision_reason) == (w.checker, "checked the statement")
    case.applied(w, change)
    trail = audits("records.changerequest", record_id=str(change.pk))
    assert [(a.action, a.actor, (a.after or {}).get("status")) for a in trail] == [
        ("CREATE", w.maker, PENDING), ("TRANSITION", w.checker, APPROVED)]
    assert trail[0].reason == reason
    applied = audits(case.audit_type, reason=f"change request #{change.pk}: {reason}")
    assert applied.exists() and {a.actor for a in applied} == {w.checker}


# Deciding --------------------------------------------------------------------------------------------

def propose_cash(w, amount="-250.25", account="ACC-001", **extra):
    payload = {"account": account, "currency": "USD", "amount": amount, "value_date": "2026-11-20", **extra}
    return approvals.change_propose(actor=w.maker, kind="cash.adjustment", payload=payload, reason="fix")


def test_a_rejection_keeps_the_proposal_and_the_reason_and_changes_nothing(world):
    change = propose_cash(world)
    unchanged = books()

    rejected = approvals.change_reject(actor=world.checker, change_id=change.pk, reason="no such bank charge")

    assert (rejected.status, rejected.decided_by, rejected.decision_reason) == (
        REJECTED, world.checker, "no such bank charge")
    stored = ChangeRequest.objects.get(pk=change.pk)
    assert (stored.status, stored.payload, stored.reason) == (REJECTED, change.payload, "fix")
    assert books() == unchanged
    assert audits("records.changerequest", record_id=str(change.pk), action="TRANSITION").get().reason == \
        "no such bank charge"


def test_a_rejection_needs_a_reason_and_the_proposer_withdraws_instead(world):
    change = propose_cash(world)
    with pytest.raises(BusinessRuleError) as exc:
        approvals.change_reject(actor=world.checker, change_id=change.pk, reason="  ")
    assert exc.value.field == "reason"
    with pytest.raises(ForbiddenError):
        approvals.change_reject(actor=world.maker, change_id=change.pk, reason="changed my mind")
    with pytest.raises(ForbiddenError):
        approvals.change_withdraw(actor=world.checker, change_id=change.pk)
    assert ChangeRequest.objects.get(pk=change.pk).status == PENDING

    withdrawn = approvals.change_withdraw(actor=world.maker, change_id=change.pk, reason="typo in amount")

    assert (withdrawn.status, withdrawn.decided_by, withdrawn.decision_reason) == (WITHDRAWN, None, "typo in amount")
    with pytest.raises(ConflictError):
        approvals.change_approve(actor=world.checker, change_id=change.pk)
    assert not CashMovement.objects.filter(kind="ADJUSTMENT").exists()


def test_a_change_is_decided_once(world):
    change = propose_cash(world)
    approvals.change_approve(actor=world.checker, change_id=change.pk)
    second_checker = make_user("checker-2", "operations")

    with pytest.raises(ConflictError) as exc:
        approvals.change_approve(actor=second_checker, change_id=change.pk)
    assert exc.value.status_code == 409
    with pytest.raises(ConflictError):
        approvals.change_reject(actor=second_checker, change_id=change.pk, reason="too late")

    assert CashMovement.objects.filter(kind="ADJUSTMENT").count() == 1
    assert CashBalance.objects.get(account__code="ACC-001", currency="USD").balance == Decimal("749.75")


def test_a_change_that_can_no_longer_be_applied_fails_and_applies_nothing(world, accounts):
    # HOUSE has no credit limit: 1000 in, an adjustment of -800 proposed, then 500 withdrawn directly.
    with transaction.atomic():
        cash.cash_movement_create(actor="test", account=accounts["HOUSE"], currency="USD", amount=Decimal("1000"),
                                  value_date=date(2026, 11, 19), reference="DEP-H")
    change = propose_cash(world, amount="-800", account="HOUSE")
    with transaction.atomic():
        cash.cash_movement_create(actor="test", account=accounts["HOUSE"], currency="USD", amount=Decimal("-500"),
                                  value_date=date(2026, 11, 20), reference="WD-H")
    unchanged = books()

    failed = approvals.change_approve(actor=world.checker, change_id=change.pk)

    assert failed.status == FAILED
    assert failed.result["field"] == "amount" and failed.result["error"].startswith("Insufficient cash")
    assert books() == unchanged
    assert CashBalance.objects.get(account=accounts["HOUSE"], currency="USD").balance == Decimal("500")
    assert not CashMovement.objects.filter(kind="ADJUSTMENT").exists()
    stored = ChangeRequest.objects.get(pk=change.pk)
    assert (stored.status, stored.decided_by) == (FAILED, world.checker)
    assert audits("records.changerequest", record_id=str(change.pk), action="TRANSITION").get().after["status"] == \
        FAILED
    with pytest.raises(ConflictError):
        approvals.change_approve(actor=make_user("checker-2", "operations"), change_id=change.pk)


def test_a_change_to_fields_someone_changed_since_it_was_proposed_fails(world, accounts):
    stale = approvals.change_propose(actor=world.maker, kind="account.update", reason="client asked",
                                     payload={"code": "ACC-001", "changes": {"credit_limit": "2000", "name": "C1"}})
    with transaction.atomic():  # e.g. a batch job's own write, not a manual change
        reference.account_update(actor="job:risk", account=accounts["ACC-001"],
                                 changes={"credit_limit": Decimal("5000")}, reason="risk review")

    # Approving would silently overwrite the 5000 the approver never saw.
    result = approvals.change_approve(actor=world.checker, change_id=stale.pk)

    assert result.status == FAILED and result.result["error"].startswith("credit_limit changed after")
    account = Account.objects.get(code="ACC-001")
    assert (account.credit_limit, account.name) == (Decimal("5000"), "Client One")


def test_a_superuser_may_approve_any_change_but_not_their_own(world, superuser):
    change = propose_cash(world)
    assert approvals.change_approve(actor=superuser, change_id=change.pk).status == APPROVED

    own = approvals.change_propose(actor=superuser, kind="account.update", reason="r",
                                   payload={"code": "ACC-001", "changes": {"name": "Client 1"}})
    with pytest.raises(ForbiddenError):
        approvals.change_approve(actor=superuser, change_id=own.pk)
    assert Account.objects.get(code="ACC-001").name == "Client One"


def test_compliance_may_release_held_trades_but_not_approve_other_kinds(world):
    officer = make_user("officer", "compliance")
    release = approvals.change_propose(actor=world.maker, kind="trade.release", reason="client confirmed",
                                       payload={"trade_id": world.held_trade.pk})
    adjustment = propose_cash(world)

    with pytest.raises(ForbiddenError):
        approvals.change_approve(actor=officer, change_id=adjustment.pk)
    assert approvals.change_approve(actor=officer, change_id=release.pk).status == APPROVED
    assert Trade.objects.get(pk=world.held_trade.pk).status == "BOOKED"


# Proposing -----------------------------------------------------------------------------------------

def test_a_change_its_service_would_refuse_is_refused_when_proposed(world):
    before = books()
    with pytest.raises(BusinessRuleError) as exc:
        propose_cash(world, amount="-5000")  # 1000 held, credit limit 1000
    assert exc.value.field == "amount" and "Insufficient cash" in exc.value.message
    with pytest.raises(BusinessRuleError) as exc:
        approvals.change_propose(actor=world.maker, kind="instrument.update", reason="r",
                                 payload={"isin": APPLE, "changes": {"market": "ZZZZ"}})
    assert exc.value.field == "market"
    with pytest.raises(ConflictError):
        approvals.change_propose(actor=world.maker, kind="account.create", reason="r",
                                 payload={"code": "ACC-001", "name": "Again", "kind": "CLIENT", "base_currency": "USD"})
    with pytest.raises(BusinessRuleError) as exc:
        approvals.change_propose(actor=world.maker, kind="counterparty.create", reason="r",
                                 payload={"code": "BRKR-C", "name": "C", "lei": "529900T8BM49AURSDO56"})
    assert exc.value.field == "lei"
    assert books() == before
    assert not ChangeRequest.objects.exists()
    assert not audits("records.changerequest").exists()


def test_releasing_a_trade_that_is_not_held_is_refused_when_proposed(world):
    with transaction.atomic():
        trades.trade_cancel(actor=world.maker, trade_id=world.held_trade.pk, reason="duplicate")
    with pytest.raises(ConflictError):
        approvals.change_propose(actor=world.maker, kind="trade.release", reason="r",
                                 payload={"trade_id": world.held_trade.pk})
    assert not ChangeRequest.objects.exists()


@pytest.mark.parametrize(("kind", "payload", "field"), [
    ("cash.adjustment", {"account": "ACC-001", "currency": "USD", "amount": 12.5}, "amount"),  # a binary float
    ("cash.adjustment", {"account": "ACC-001", "currency": "USD", "amount": "1.00001"}, "amount"),
    ("cash.adjustment", {"account": "ACC-001", "currency": "USD", "amount": "NaN"}, "amount"),
    ("cash.adjustment", {"account": "ACC-001", "currency": "USD", "amount": "0"}, "amount"),
    ("cash.adjustment", {"account": "ACC-001", "currency": "XYZ", "amount": "1"}, "currency"),
    ("cash.adjustment", {"account": "NOPE", "currency": "USD", "amount": "1"}, "account"),
    ("cash.adjustment", {"account": "ACC-001", "currency": "USD", "amount": "1", "value_date": "20/11/2026"},
     "value_date"),
    ("cash.adjustment", {"account": "ACC-001", "currency": "USD", "amount": "1", "kind": "DEPOSIT"}, "kind"),
    ("position.adjustment", {"account": "ACC-001", "instrument": APPLE, "quantity": "1.0000001"}, "quantity"),
    ("position.adjustment", {"account": "ACC-001", "instrument": "US0000000000", "quantity": "1"}, "instrument"),
    ("position.adjustment", {"account": "ACC-001", "instrument": APPLE, "quantity": "-1"}, "quantity"),
    ("account.update", {"code": "ACC-001", "changes": {"code": "ACC-002"}}, "code"),
    ("account.update", {"code": "ACC-001", "changes": {"status": "OPEN"}}, "status"),
    ("account.update", {"code": "ACC-001", "changes": {"credit_limit": "-1"}}, "credit_limit"),
    ("account.update", {"code": "ACC-001", "changes": {"allow_partial_settlement": "yes"}}, "allow_partial_settlement"),
    ("account.update", {"code": "ACC-001", "changes": {"name": "Client One"}}, "non_field_errors"),  # no change
    ("account.update", {"code": "NOPE", "changes": {"name": "x"}}, "code"),
    ("account.update", {"code": "ACC-001", "changes": []}, "changes"),
    ("account.create", {"code": "bad code", "name": "x", "kind": "CLIENT", "base_currency": "USD"}, "code"),
    ("instrument.update", {"isin": APPLE, "changes": {"settlement_cycle": 31}}, "settlement_cycle"),
    ("instrument.create", {"isin": "US0378331006", "symbol": "X", "name": "x", "asset_class": "EQUITY",
                           "currency": "USD", "market": "XNAS"}, "isin"),
    ("counterparty.update", {"code": "BRKR-A", "changes": {"clears_through": "BRKR-A"}}, "clears_through"),
    ("trade.release", {"trade_id": "1"}, "trade_id"),
    ("trade.release", {"trade_id": 999999}, "trade_id"),
])
def test_a_bad_payload_is_refused_with_the_field_at_fault(world, kind, payload, field):
    with pytest.raises(BusinessRuleError) as exc:
        approvals.change_propose(actor=world.maker, kind=kind, payload=payload, reason="r")
    assert exc.value.field == field, exc.value.message
    assert not ChangeRequest.objects.exists()


def test_proposing_needs_a_reason_a_known_kind_and_a_role_that_may_propose_it(world):
    with pytest.raises(BusinessRuleError) as exc:
        approvals.change_propose(actor=world.maker, kind="cash.adjustment", reason=" ",
                                 payload={"account": "ACC-001", "currency": "USD", "amount": "1"})
    assert exc.value.field == "reason"
    with pytest.raises(BusinessRuleError) as exc:
        approvals.change_propose(actor=world.maker, kind="ledger.rewrite", reason="r", payload={})
    assert exc.value.field == "kind"
    with pytest.raises(ForbiddenError):
        approvals.change_propose(actor=world.outsider, kind="cash.adjustment", reason="r",
                                 payload={"account": "ACC-001", "currency": "USD", "amount": "1"})
    with pytest.raises(ForbiddenError):
        approvals.change_propose(actor="job:nightly", kind="cash.adjustment", reason="r",
                                 payload={"account": "ACC-001", "currency": "USD", "amount": "1"})
    assert not ChangeRequest.objects.exists()


def test_one_pending_change_per_record_but_adjustments_add_up(world):
    approvals.change_propose(actor=world.maker, kind="account.update", reason="r",
                             payload={"code": "ACC-001", "changes": {"name": "Client 1"}})
    with pytest.raises(ConflictError):
        approvals.change_propose(actor=world.checker, kind="account.update", reason="r",
                                 payload={"code": "ACC-001", "changes": {"status": "SUSPENDED"}})
    propose_cash(world, amount="10")
    propose_cash(world, amount="20")
    assert ChangeRequest.objects.filter(status=PENDING).count() == 3


def test_an_adjustment_gets_a_reference_and_today_as_value_date_when_not_given(world):
    from django.utils import timezone

    change = approvals.change_propose(actor=world.maker, kind="cash.adjustment", reason="r",
                                      payload={"account": "ACC-001", "currency": "USD", "amount": "5.5"})

    assert change.payload["reference"].startswith("ADJ-")
    assert change.payload["value_date"] == timezone.localdate().isoformat()
    assert change.payload["amount"] == "5.5"
    assert change.before == {"balance": "1000", "available": "1000"}
    assert [(r.field, r.before, r.after) for r in kinds.change_diff(change)] == [
        ("amount", None, "5.5"), ("balance", "1000", "1005.5"), ("available", "1000", "1005.5")]


def test_the_diff_of_an_update_shows_only_the_fields_it_changes(world):
    change = approvals.change_propose(actor=world.maker, kind="counterparty.update", reason="r",
                                      payload={"code": "BRKR-A", "changes": {"clears_through": None,
                                                                             "requires_matching": True}})
    # requires_matching is already true: dropped from the proposal.
    assert change.payload == {"code": "BRKR-A", "changes": {"clears_through": None}}
    assert [(r.field, r.before, r.after) for r in kinds.change_diff(change)] == [("clears_through", "NSCC", None)]
    assert change.summary == "Change counterparty BRKR-A: clears_through none"


# The API -------------------------------------------------------------------------------------------

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
    assert missing.status_code == 400 and "reason" in missing.json()
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
    assert "reason" in post(maker, "/api/v1/approvals/", {**CASH_BODY, "reason": ""}).json()
    assert "payload" in post(maker, "/api/v1/approvals/", {**CASH_BODY, "payload": [1]}).json()
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


# The admin -----------------------------------------------------------------------------------------

@pytest.fixture
def admin_web(client, superuser):
    client.force_login(superuser)
    return client


def admin_url(model, view, *args):
    return reverse(f"admin:records_{model._meta.model_name}_{view}", args=args)


def page_messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_the_admin_change_form_proposes_and_leaves_the_row_unchanged(admin_web, superuser, accounts):
    account = accounts["ACC-001"]
    form = {"code": "ACC-001", "name": "Client One", "kind": "CLIENT", "base_currency": "USD", "status": "CLOSED",
            "cost_method": "FIFO", "allow_partial_settlement": "on", "credit_limit": "1000", "reason": "client left"}
    before = books()

    response = admin_web.post(admin_url(Account, "change", account.pk), form)

    assert response.status_code == 302
    proposal = ChangeRequest.objects.get()
    assert page_messages(response) == [f"Change submitted for approval as #{proposal.pk}"]
    assert (proposal.kind, proposal.payload, proposal.reason, proposal.proposed_by) == (
        "account.update", {"code": "ACC-001", "changes": {"status": "CLOSED"}}, "client left", superuser)
    assert books() == before
    assert not audits("records.account", action="UPDATE").exists()
    # The form shows the pending change.
    page = admin_web.get(admin_url(Account, "change", account.pk))
    assert f"Change #{proposal.pk} awaits approval" in page.content.decode()


def test_the_admin_change_form_shows_a_refused_change_as_a_form_error(admin_web, counterparties):
    broker = counterparties["BRKR-A"]
    form = {"code": "BRKR-A", "name": "Broker A", "lei": broker.lei, "is_ccp": "on",
            "clears_through": counterparties["NSCC"].pk, "requires_matching": "on", "reason": ""}

    response = admin_web.post(admin_url(Counterparty, "change", broker.pk), form)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["clears_through"] == ["A CCP does not clear through another CCP."]
    assert not ChangeRequest.objects.exists()


def test_adding_in_the_admin_stays_direct(admin_web):
    form = {"code": "CL-NEW", "name": "New Client", "kind": "CLIENT", "base_currency": "USD", "status": "ACTIVE",
            "cost_method": "FIFO", "allow_partial_settlement": "on", "credit_limit": "0", "reason": ""}
    assert admin_web.post(admin_url(Account, "add"), form).status_code == 302
    assert Account.objects.filter(code="CL-NEW").exists()
    assert not ChangeRequest.objects.exists()


def test_the_proposer_cannot_approve_in_the_admin_but_another_user_can(admin_web, superuser, client, world):
    change = approvals.change_propose(actor=superuser, kind="instrument.update", reason="rename",
                                      payload={"isin": APPLE, "changes": {"name": "Apple"}})
    changelist = admin_url(ChangeRequest, "changelist")

    response = admin_web.post(changelist, {"action": "approve_selected", "_selected_action": [change.pk],
                                           "index": 0})

    assert response.status_code == 302
    assert page_messages(response) == [f"#{change.pk} not approved: You proposed change #{change.pk}: another user "
                                       "must approve it."]
    assert ChangeRequest.objects.get(pk=change.pk).status == PENDING
    assert Instrument.objects.get(isin=APPLE).name == "Apple Inc."

    other = make_user("root-2", superuser=True)
    client.force_login(other)
    response = client.post(changelist, {"action": "approve_selected", "_selected_action": [change.pk], "index": 0})

    assert page_messages(response)[-1] == f"#{change.pk} approved and applied: {change.summary}"
    assert Instrument.objects.get(isin=APPLE).name == "Apple"
    assert ChangeRequest.objects.get(pk=change.pk).decided_by == other


def test_rejecting_in_the_admin_asks_for_a_reason(admin_web, world):
    change = propose_cash(world)
    changelist = admin_url(ChangeRequest, "changelist")

    confirm = admin_web.post(changelist, {"action": "reject_selected", "_selected_action": [change.pk], "index": 0})
    assert confirm.status_code == 200 and "Reason" in confirm.content.decode()
    no_reason = admin_web.post(changelist, {"action": "reject_selected", "_selected_action": [change.pk],
                                            "apply": "Reject", "reason": " "})
    assert no_reason.status_code == 200 and "A reason is required" in no_reason.content.decode()
    assert ChangeRequest.objects.get(pk=change.pk).status == PENDING

    response = admin_web.post(changelist, {"action": "reject_selected", "_selected_action": [change.pk],
                                           "apply": "Reject", "reason": "duplicate"})

    assert response.status_code == 302
    stored = ChangeRequest.objects.get(pk=change.pk)
    assert (stored.status, stored.decision_reason) == (REJECTED, "duplicate")


def test_change_requests_cannot_be_added_edited_or_deleted_in_the_admin(admin_web, world):
    change = propose_cash(world)
    page = admin_web.get(admin_url(ChangeRequest, "change", change.pk))
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert "1005.5" not in page.content.decode() and "749.75" in page.content.decode()  # the diff
    assert admin_web.post(admin_url(ChangeRequest, "change", change.pk), {"status": APPROVED}).status_code == 403
    assert admin_web.get(admin_url(ChangeRequest, "add")).status_code == 403
    assert admin_web.post(admin_url(ChangeRequest, "delete", change.pk), {"post": "yes"}).status_code == 403
    assert ChangeRequest.objects.get(pk=change.pk).status == PENDING


# Concurrency (PostgreSQL) -------------------------------------------------------------------------

def _at_once(functions) -> tuple[list, list]:
    import threading

    from django.db import connections

    barrier = threading.Barrier(len(functions))
    results, errors = [], []

    def run(function):
        try:
            barrier.wait(timeout=10)
            results.append(function())
        except BusinessRuleError as exc:
            errors.append(exc)
        except Exception as exc:  # pragma: no cover - reported by the assertions
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(f,)) for f in functions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results, errors


@pytest.mark.django_db(transaction=True)
def test_ten_checkers_approving_at_once_apply_the_change_once(instruments, accounts, counterparties):
    maker = make_user("maker", "operations")
    checkers = [make_user(f"checker-{n}", "operations") for n in range(10)]
    change = approvals.change_propose(actor=maker, kind="cash.adjustment", reason="r", payload={
        "account": "ACC-001", "currency": "USD", "amount": "100", "reference": "ADJ-RACE"})

    results, errors = _at_once([lambda c=c: approvals.change_approve(actor=c, change_id=change.pk)
                                for c in checkers])

    assert [r.status for r in results] == [APPROVED]
    assert len(errors) == 9 and all(isinstance(e, ConflictError) for e in errors), errors
    assert CashMovement.objects.filter(reference="ADJ-RACE").count() == 1
    assert CashBalance.objects.get(account__code="ACC-001", currency="USD").balance == Decimal("100")


@pytest.mark.django_db(transaction=True)
def test_ten_makers_proposing_the_same_change_at_once_leave_one_pending(instruments, accounts, counterparties):
    makers = [make_user(f"maker-{n}", "operations") for n in range(10)]

    results, errors = _at_once([lambda m=m: approvals.change_propose(
        actor=m, kind="account.create", reason="r",
        payload={"code": "ACC-RACE", "name": "Race", "kind": "CLIENT", "base_currency": "USD"}) for m in makers])

    assert len(results) == 1 and len(errors) == 9 and all(isinstance(e, ConflictError) for e in errors), errors
    assert ChangeRequest.objects.filter(target_id="ACC-RACE", status=PENDING).count() == 1
