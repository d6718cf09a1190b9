"""Maker-checker: a manual change takes effect only when a different user with the right role approves it.

Through the services, for every registered kind of change (the API, the admin and the page have their own
test_api_approvals.py, test_admin_approvals.py and test_pages_approvals.py).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction

from backoffice.core.exceptions import BusinessRuleError, ConflictError, ForbiddenError
from records.approvals import kinds
from records.approvals import services as approvals
from records.approvals.models import ChangeRequest
from records.cash import services as cash
from records.cash.models import CashBalance, CashMovement
from records.positions.models import Position, StockMovement
from records.reference.models import Account, Counterparty, Instrument
from records.reference.services import reference
from records.trades import services as trades
from records.trades.models import Trade, TradeEvent
from tests.conftest import APPLE, make_user
from tests.records.helpers_approvals import (
    APPROVED,
    FAILED,
    PENDING,
    REJECTED,
    WITHDRAWN,
    World,
    audits,
    books,
    propose_cash,
)

pytestmark = pytest.mark.django_db

NEW_ISIN = "US88160R1014"  # Tesla
NEW_LEI = "529900T8BM49AURSDO55"


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


def _trade_rejected(w, change):
    trade = Trade.objects.get(pk=w.held_trade.pk)
    assert trade.status == "REJECTED"
    # A held trade was never in the position; rejecting it leaves the position as it was (none).
    assert not Position.objects.filter(account__code="ACC-001", instrument__isin=APPLE).exists()
    event = TradeEvent.objects.get(trade=trade, action="REJECT")
    assert (event.actor, event.from_status, event.to_status, event.reason) == (
        w.checker, "HELD", "REJECTED", f"change request #{change.pk}: desk confirmed the client")


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
    Case("trade.reject", lambda w: {"trade_id": w.held_trade.pk}, _trade_rejected, "records.trade",
         lambda w: str(w.held_trade.pk)),
]


# Kinds the apps above records register, each walked through maker-checker in its own app's tests.
UPPER_APPS_KINDS = {"confirmation.force_match": "tests/clearing/test_services_matching.py",
                    "ssi.change": "tests/settlements/test_services_ssis.py",
                    "glaccount.change": "tests/accounting/test_services_chart.py",
                    "period.reopen": "tests/accounting/test_services_periods.py",
                    "journal.manual": "tests/accounting/test_services_journals.py",
                    "journal.reversal": "tests/accounting/test_services_journals.py",
                    "compliance.rule.change": "tests/compliance/test_rules_api.py"}


def test_every_registered_kind_has_a_case():
    assert {case.kind for case in CASES} | set(UPPER_APPS_KINDS) == {spec.kind for spec in kinds.change_kinds()}


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


@pytest.mark.parametrize("kind", ["trade.release", "trade.reject"])
def test_deciding_a_trade_that_is_not_held_is_refused_when_proposed(world, kind):
    with transaction.atomic():
        trades.trade_cancel(actor=world.maker, trade_id=world.held_trade.pk, reason="duplicate")
    with pytest.raises(ConflictError):
        approvals.change_propose(actor=world.maker, kind=kind, reason="r", payload={"trade_id": world.held_trade.pk})
    assert not ChangeRequest.objects.exists()


@pytest.mark.parametrize(("first", "second"), [("trade.release", "trade.reject"), ("trade.reject", "trade.release")])
def test_a_held_trade_is_either_released_or_rejected_not_both_proposed_at_once(world, first, second):
    payload = {"trade_id": world.held_trade.pk}
    approvals.change_propose(actor=world.maker, kind=first, reason="r", payload=payload)
    for kind in (first, second):
        with pytest.raises(ConflictError):
            approvals.change_propose(actor=world.checker, kind=kind, reason="again", payload=payload)
    assert ChangeRequest.objects.count() == 1
    assert Trade.objects.get(pk=world.held_trade.pk).status == "HELD"


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
    ("trade.reject", {"trade_id": "1"}, "trade_id"),
    ("trade.reject", {"trade_id": 999999}, "trade_id"),
    ("trade.reject", {"trade_id": 1, "status": "BOOKED"}, "status"),
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
