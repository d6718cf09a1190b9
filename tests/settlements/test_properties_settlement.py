# ruff: noqa: F811 - the fixtures imported from helpers_settlement are parameters of the tests
"""Settlement's invariants (DESIGN.md §6) over random days: trades booked through capture, netted by clearing,
instructed, settled by runs of the settlement date and of the next day, with random cash, stock, partial
settlement allowed or not, and counterparties failing.

- for every account and instrument: settled position = opening stock + Σ settled movements, and the trade-date
  position = settled + pending receipt - pending delivery;
- for every account and currency: cash balance = Σ cash movements, the settlement cash movements = Σ the
  movements' cash, and what stays reserved = what the open instructions have still to pay;
- nothing is settled twice over reruns: one movement per instruction and run, Σ movements = what the
  instruction says it settled, never more than its quantity; a rerun of a date changes nothing;
- partials sum exactly to the original (quantity and cash) once an instruction has settled;
- delivery versus payment: against payment, no movement moves securities without cash or cash without
  securities; free of payment, no cash; signs follow the direction and the cash amount;
- a run never delivers securities the account does not hold, nor takes cash below minus the credit limit;
- statuses agree: instruction, obligation and trades; an open fail exactly while partial or failed;
- how the run is cut into chunks changes nothing.
"""

from collections import defaultdict
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from clearing.models import NettedTrade, Obligation
from records.cash.models import CashBalance, CashMovement
from records.positions.models import Position
from records.trades.models import Trade
from settlements.models import SettlementFail, SettlementInstruction, SettlementMovement
from tests.settlements.helpers_settlement import (  # noqa: F401
    NEXT_DAY,
    book_and_instruct,
    firm,
    fund,
    hold,
    own_steps_only,
    settle,
    state,
    stock_opening,
)

pytestmark = pytest.mark.django_db
D = Decimal

ACCOUNTS = ("ACC-001", "HOUSE")
COUNTERPARTIES = ("NSCC", "BRKR-B")  # locked-in: netted without confirmations
INSTRUMENTS = ("AAPL", "MSFT", "SAP")  # SAP settles in EUR on the next day (T+2)
CURRENCY = {"AAPL": "USD", "MSFT": "USD", "SAP": "EUR"}
OBLIGATION_OF = {"SETTLED": "SETTLED", "PARTIAL": "PARTIALLY_SETTLED", "FAILED": "FAILED"}
TRADE_OF = OBLIGATION_OF


def decimals(places: int, low: str, high: str):
    return st.decimals(min_value=D(low), max_value=D(high), places=places, allow_nan=False, allow_infinity=False)


trade = st.fixed_dictionaries({
    "account": st.sampled_from(ACCOUNTS),
    "counterparty": st.sampled_from(COUNTERPARTIES),
    "instrument": st.sampled_from(INSTRUMENTS),
    "side": st.sampled_from(("BUY", "SELL")),
    "quantity": st.one_of(decimals(0, "1", "400"), decimals(2, "0.01", "400")),
    "price": st.one_of(decimals(2, "0.01", "300"), decimals(6, "0.000001", "300")),
})
holdings = st.fixed_dictionaries({(a, i): st.one_of(st.just(D(0)), decimals(0, "1", "600"))
                                  for a in ACCOUNTS for i in INSTRUMENTS})
money = st.fixed_dictionaries({(a, c): st.one_of(st.just(D(0)), decimals(2, "1", "60000"))
                               for a in ACCOUNTS for c in ("USD", "EUR")})
day = st.fixed_dictionaries({
    "trades": st.lists(trade, min_size=1, max_size=14),
    "holdings": holdings,
    "money": money,
    "allow_partial": st.booleans(),
    "counterparty_fails": st.lists(st.booleans(), max_size=6),
    "top_up": money,
})


class Rollback(Exception):
    pass


def _prepare(firm, spec) -> list[SettlementInstruction]:
    for (account, instrument), quantity in spec["holdings"].items():
        if quantity:
            hold(firm, account, instrument, str(quantity))
    for (account, currency), amount in spec["money"].items():
        if amount:
            fund(firm, account, str(amount), currency)
    instructions = book_and_instruct(
        firm, *[(t["account"], t["counterparty"], t["instrument"], t["side"], str(t["quantity"]), str(t["price"]))
                for t in spec["trades"]], allow_partial=spec["allow_partial"])
    failing = [i.pk for i, fails in zip(instructions, spec["counterparty_fails"], strict=False) if fails]
    SettlementInstruction.objects.filter(pk__in=failing).update(counterparty_failed_at="2026-11-23T09:00:00Z")
    return instructions


def check_invariants(firm) -> None:
    instructions = {i.pk: i for i in SettlementInstruction.objects.all()}
    movements = list(SettlementMovement.objects.all())
    opening = stock_opening()

    # Positions: settled = opening + Σ settled movements; traded = settled + pending receipt - pending delivery.
    settled_moves = defaultdict(Decimal)
    for m in movements:
        settled_moves[(m.account_id, m.instrument_id)] += m.quantity
    for p in Position.objects.all():
        key = (p.account_id, p.instrument_id)
        assert p.settled_quantity == opening.get(key, D(0)) + settled_moves.get(key, D(0)), key
        assert p.traded_quantity == p.settled_quantity + p.pending_receipt - p.pending_delivery, key
        assert p.settled_quantity >= 0, key  # never delivered what was not held
        assert p.pending_receipt >= 0 and p.pending_delivery >= 0

    # Cash: balance = Σ movements; settlement cash = Σ the movements' cash; reserved = what is still to pay.
    cash_moves, settlement_cash, movement_cash, to_pay = (defaultdict(Decimal) for _ in range(4))
    for account_id, currency, amount, kind in CashMovement.objects.values_list("account_id", "currency", "amount",
                                                                               "kind"):
        cash_moves[(account_id, currency)] += amount
        if kind == "SETTLEMENT":
            settlement_cash[(account_id, currency)] += amount
    for m in movements:
        if m.cash:
            movement_cash[(m.account_id, m.currency)] += m.cash
    for i in instructions.values():
        if i.status in SettlementInstruction.OPEN_STATUSES and i.payment == "APMT" and i.cash_amount < 0:
            to_pay[(i.account_id, i.currency)] += i.settled_cash - i.cash_amount
    limits = {a.pk: a.credit_limit for a in firm.accounts.values()}
    for b in CashBalance.objects.all():
        key = (b.account_id, b.currency)
        assert b.balance == cash_moves.get(key, D(0)), key
        assert b.reserved == to_pay.get(key, D(0)), key
        assert b.balance >= -limits[b.account_id], key
    for key in set(settlement_cash) | set(movement_cash):
        assert settlement_cash.get(key, D(0)) == movement_cash.get(key, D(0)), key

    # Nothing twice; partials sum to the original; DVP; signs.
    per_instruction = defaultdict(list)
    for m in movements:
        per_instruction[m.instruction_id].append(m)
    for pk, moved in per_instruction.items():
        assert len({m.run_id for m in moved}) == len(moved), pk  # one movement per instruction and run
    for pk, i in instructions.items():
        moved = per_instruction.get(pk, [])
        assert sum((abs(m.quantity) for m in moved), D(0)) == i.settled_quantity <= i.quantity, pk
        assert sum((m.cash for m in moved), D(0)) == i.settled_cash, pk
        for m in moved:
            assert (m.quantity >= 0) if i.direction == "RECEIVE" else (m.quantity <= 0), pk
            if i.payment == "FREE":
                assert m.cash == 0, pk
            elif i.cash_amount and i.quantity:
                assert m.quantity != 0 and m.cash != 0, pk  # neither leg without the other
                assert (m.cash > 0) == (i.cash_amount > 0), pk
        if i.status == "SETTLED":
            assert (i.settled_quantity, i.settled_cash) == (i.quantity, i.cash_amount if i.payment == "APMT" else 0)
        elif i.status == "PARTIAL":
            assert (i.settled_quantity or i.settled_cash) and i.settled_quantity < i.quantity, pk
        elif i.status == "FAILED":
            assert i.settled_quantity == 0 and i.settled_cash == 0 and not moved, pk

    # Statuses agree: obligation, trades; fails.
    obligation_status = dict(Obligation.objects.values_list("id", "status"))
    trades_of = defaultdict(list)
    for obligation_id, status, settled, quantity in NettedTrade.objects.values_list(
            "obligation_id", "trade__status", "trade__settled_quantity", "trade__quantity"):
        trades_of[obligation_id].append((status, settled, quantity))
    fails = {f.instruction_id: f for f in SettlementFail.objects.all()}
    for pk, i in instructions.items():
        if i.status == "PENDING":
            assert obligation_status[i.obligation_id] == "INSTRUCTED" and pk not in fails
            continue
        assert obligation_status[i.obligation_id] == OBLIGATION_OF[i.status], pk
        for status, settled, quantity in trades_of[i.obligation_id]:
            assert status == TRADE_OF[i.status], pk
            assert settled == quantity if i.status == "SETTLED" else 0 <= settled < quantity
        fail = fails.get(pk)
        if i.status == "SETTLED":
            assert fail is None or (fail.closed_on is not None and fail.unsettled_quantity == 0), pk
        else:
            assert fail is not None and fail.closed_on is None, pk
            assert fail.unsettled_quantity == i.quantity - i.settled_quantity, pk
            assert fail.kind == i.direction, pk
            if i.counterparty_failed_at is not None:
                assert fail.cause == "COUNTERPARTY", pk


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spec=day, per_chunk=st.integers(min_value=1, max_value=4))
def test_runs_keep_the_books_in_step_settle_dvp_and_never_twice(firm, spec, per_chunk):
    try:
        with transaction.atomic():
            _prepare(firm, spec)
            first = settle(instructions_per_chunk=per_chunk)
            assert first.job.status == "COMPLETED", first.job.error
            check_invariants(firm)
            for status in sorted(set(SettlementInstruction.objects.values_list("status", flat=True))):
                event(f"an instruction {status.lower()} after the first run")

            # The same date again: nothing more.
            before = state()
            settle()
            after = state()
            assert {k: v for k, v in after.items() if k != "runs"} == {k: v for k, v in before.items() if k != "runs"}

            # More cash and stock, the next day: what is open is retried; then that day again changes nothing.
            for (account, currency), amount in spec["top_up"].items():
                if amount:
                    fund(firm, account, str(amount), currency)
            for (account, instrument), quantity in spec["holdings"].items():
                if quantity:
                    hold(firm, account, instrument, str(quantity))
            assert settle(NEXT_DAY).job.status == "COMPLETED"
            check_invariants(firm)
            before = state()
            settle(NEXT_DAY)
            after = state()
            assert {k: v for k, v in after.items() if k != "runs"} == {k: v for k, v in before.items() if k != "runs"}
            raise Rollback
    except Rollback:
        pass


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spec=day, per_chunk=st.integers(min_value=1, max_value=3))
def test_how_a_run_is_cut_into_chunks_changes_nothing(firm, spec, per_chunk):
    outcomes = []
    for chunking in ({}, {"instructions_per_chunk": per_chunk}):
        try:
            with transaction.atomic():
                _prepare(firm, spec)
                settle(**chunking)
                found = state()
                # Ids differ between the two tries (sequences): compare by what they are.
                outcomes.append((
                    sorted((i.account_id, i.instrument_id, i.direction, i.quantity, i.cash_amount, i.status,
                            i.settled_quantity, i.settled_cash) for i in SettlementInstruction.objects.all()),
                    found["positions"], found["balances"], found["cash_movements"],
                    sorted(f[1:] for f in found["fails"]), sorted(t[1:] for t in found["trades"])))
                raise Rollback
        except Rollback:
            pass
    assert outcomes[0] == outcomes[1]


def test_the_invariant_checker_sees_a_broken_book(firm):
    """The checker is not vacuous: a settled movement the position does not show is caught."""
    fund(firm, "ACC-001", "5000")
    receipt, = book_and_instruct(firm, ("ACC-001", "BRKR-B", "AAPL", "BUY", "10", "10"))
    settle()
    check_invariants(firm)
    Position.objects.filter(account=firm.accounts["ACC-001"]).update(settled_quantity=D(9))
    with pytest.raises(AssertionError):
        check_invariants(firm)
    assert Trade.objects.get().status == "SETTLED" and receipt.pk
