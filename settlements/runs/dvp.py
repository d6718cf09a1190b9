"""Deciding what settles, delivery versus payment: pure computation over one account's instructions.

settlement_decide takes an account's open instructions, its settled positions and its available
cash (as read under lock) and returns what each instruction settles now. No database: the run
(settlements/runs/services.py) reads, calls this per account, and writes.

The rules (DESIGN.md §6):

- **Priority**, per account: oldest settlement date first, then deliveries before receipts (a
  delivery brings the cash a receipt may need), then instruction id. Deterministic.
- **Recycling**: the instructions are taken in that order in passes; a pass that settled
  something is followed by another over what is still open (a receipt settled late in a pass may
  bring the securities an earlier delivery lacked), until a pass settles nothing: the account
  then stands at a fixed point, so running the date again settles nothing more. Usually two
  passes. Whatever an instruction settles over the passes is one movement.
- **Delivery versus payment**: a delivery needs the account's settled position (never below zero);
  a payment needs available cash: balance - reserved + credit limit, where the cash reserved for
  the instructions being settled counts as available to them (an instruction's own reservation is
  its own; the account's instructions in the run share theirs in priority order, so an account
  that cannot pay all of them pays the first ones rather than none). Cash reserved for
  instructions the run does not take (due later, held) stays out of reach. Securities and cash
  move together or not at all. A free-of-payment instruction moves no cash.
- **Counterparty**: an instruction whose counterparty's failure is recorded does not settle (cause
  COUNTERPARTY), whichever way it goes.
- **Partial settlement** (allow_partial, and only with a quantity to settle): as many units as the
  position, or the cash, covers. A unit is one (shares, bond nominal) except for funds, whose
  units settle to six places. The cash of a partial is proportional, cumulatively:
  cash(settled so far) = cash_amount x settled / quantity, cut toward zero to the currency's minor
  unit; the last settlement takes the rest, so the partials sum exactly to cash_amount. A partial
  whose cash would round to nothing, for an instruction that has cash, does not happen (DVP).
  Without allow_partial an instruction that cannot settle in full fails.
- **Status** after the run: SETTLED when all of it has settled; PARTIAL when some has (now or
  before); FAILED when none has. The cause of what is left: SECURITIES, CASH or COUNTERPARTY.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_DOWN, ROUND_FLOOR, Decimal, localcontext

WHOLE = Decimal(1)
FUND_UNIT = Decimal("0.000001")

SETTLED, PARTIAL, FAILED = "SETTLED", "PARTIAL", "FAILED"
SECURITIES, CASH, COUNTERPARTY = "SECURITIES", "CASH", "COUNTERPARTY"
DELIVER, RECEIVE = "DELIVER", "RECEIVE"
FREE = "FREE"


def settlement_unit(asset_class: str) -> Decimal:
    """The smallest quantity a partial settles in: whole units, except fund units (six places)."""
    return FUND_UNIT if asset_class == "FUND" else WHOLE


def minor_unit(exponent: int) -> Decimal:
    return Decimal(1).scaleb(-exponent)


@dataclass
class OpenInstruction:
    """An instruction as the run reads it (under lock), and what it has settled so far, this run included."""

    id: int
    account_id: int
    instrument_id: int
    currency: str
    settlement_date: date
    direction: str
    payment: str
    quantity: Decimal
    cash_amount: Decimal
    settled_quantity: Decimal
    settled_cash: Decimal
    allow_partial: bool
    counterparty_failed: bool
    unit: Decimal = WHOLE
    minor: Decimal = Decimal("0.01")
    reserved: Decimal = Decimal(0)  # cash reserved for this instruction's payment, still held (released as it pays)

    @property
    def priority(self) -> tuple:
        return (self.settlement_date, 0 if self.direction == DELIVER else 1, self.id)

    @property
    def has_cash(self) -> bool:
        return self.payment != FREE and self.cash_amount != 0

    def cash_at(self, settled: Decimal) -> Decimal:
        """The cash that has moved once `settled` has: proportional, cut toward zero; all of it at the end."""
        if self.payment == FREE:
            return Decimal(0)
        if settled == self.quantity:
            return self.cash_amount
        with localcontext() as ctx:
            ctx.prec = 80
            return (self.cash_amount * settled / self.quantity).quantize(self.minor, rounding=ROUND_DOWN)

    @property
    def complete(self) -> bool:
        return self.settled_quantity == self.quantity and self.settled_cash == self.cash_at(self.quantity)


@dataclass
class Decision:
    """What one instruction settles in this run (unsigned quantity, signed cash) and where it ends."""

    instruction: OpenInstruction
    quantity: Decimal = Decimal(0)
    cash: Decimal = Decimal(0)
    reservation_released: Decimal = Decimal(0)
    moved: bool = False  # settled something (or completed a zero one) in this run
    status: str = FAILED
    cause: str = ""

    @property
    def signed_quantity(self) -> Decimal:
        return self.quantity if self.instruction.direction == RECEIVE else -self.quantity


@dataclass
class AccountResources:
    """What one account has to settle with, as it changes during the run."""

    positions: dict[int, Decimal] = field(default_factory=dict)  # instrument id -> settled quantity
    # currency -> available to the run: balance - reserved + credit limit + what is reserved for the
    # instructions the run takes (see pool_cash)
    cash: dict[str, Decimal] = field(default_factory=dict)

    def position(self, instrument_id: int) -> Decimal:
        return max(self.positions.get(instrument_id, Decimal(0)), Decimal(0))


def floor_to_unit(value: Decimal, unit: Decimal) -> Decimal:
    """value cut down to a whole number of units."""
    with localcontext() as ctx:
        ctx.prec = 80
        return (value / unit).to_integral_value(rounding=ROUND_FLOOR) * unit


def _attempt(ins: OpenInstruction, res: AccountResources) -> tuple[Decimal, Decimal, str]:
    """Return (quantity, cash) the instruction can settle now against res, and the cause of what it cannot."""
    remaining = ins.quantity - ins.settled_quantity
    remaining_cash = ins.cash_at(ins.quantity) - ins.settled_cash
    if ins.counterparty_failed:
        return Decimal(0), Decimal(0), COUNTERPARTY
    held = res.position(ins.instrument_id)
    spendable = res.cash.get(ins.currency, Decimal(0))
    short_securities = ins.direction == DELIVER and held < remaining
    short_cash = remaining_cash < 0 and spendable < -remaining_cash
    if not short_securities and not short_cash:
        return remaining, remaining_cash, ""
    cause = SECURITIES if short_securities else CASH
    if not ins.allow_partial or remaining <= 0:
        return Decimal(0), Decimal(0), cause
    quantity = remaining
    if short_securities:
        quantity = min(quantity, floor_to_unit(held, ins.unit))
    if short_cash:
        if spendable <= 0:
            return Decimal(0), Decimal(0), cause
        with localcontext() as ctx:
            ctx.prec = 80
            quantity = min(quantity, floor_to_unit(remaining * spendable / -remaining_cash, ins.unit))
        quantity = _largest_payable(ins, quantity, spendable)
    if quantity <= 0:
        return Decimal(0), Decimal(0), cause
    cash = ins.cash_at(ins.settled_quantity + quantity) - ins.settled_cash
    if ins.has_cash and cash == 0:
        return Decimal(0), Decimal(0), cause  # securities without cash: never (DVP)
    return quantity, cash, cause


def _largest_payable(ins: OpenInstruction, quantity: Decimal, spendable: Decimal) -> Decimal:
    """The largest quantity, in units, up to `quantity`, whose cash the spendable amount covers.

    The proportional estimate can overshoot by a minor unit of rounding: search down by halves.
    """
    def payable(q: Decimal) -> bool:
        return -(ins.cash_at(ins.settled_quantity + q) - ins.settled_cash) <= spendable

    if quantity <= 0 or payable(quantity):
        return quantity
    low, high = 0, int(quantity / ins.unit)  # payable(low units), not payable(high units)
    while high - low > 1:
        middle = (low + high) // 2
        if payable(middle * ins.unit):
            low = middle
        else:
            high = middle
    return low * ins.unit


def pool_cash(available: Decimal, instructions: Iterable[OpenInstruction], currency: str) -> Decimal:
    """What the run may spend in a currency of an account: available plus what its instructions in the run reserved."""
    return available + sum((ins.reserved for ins in instructions if ins.currency == currency), Decimal(0))


def settlement_decide(instructions: Iterable[OpenInstruction], resources: AccountResources) -> list[Decision]:
    """Decide what each of one account's open instructions settles now; return the decisions in priority order.

    resources is updated as instructions settle (positions, available cash); each instruction's
    settled_quantity, settled_cash and reserved are advanced in place.
    """
    ordered = sorted(instructions, key=lambda ins: ins.priority)
    decisions = {ins.id: Decision(ins) for ins in ordered}
    progressed = True
    while progressed:  # each pass that goes on settled something: ends, since what is left only shrinks
        progressed = False
        for ins in ordered:
            if ins.complete:
                continue
            quantity, cash, cause = _attempt(ins, resources)
            decision = decisions[ins.id]
            decision.cause = cause
            completes = quantity == ins.quantity - ins.settled_quantity and not cause
            if quantity == 0 and cash == 0 and not completes:
                continue
            _apply(ins, decision, resources, quantity, cash, completes)
            progressed = True
    for decision in decisions.values():
        ins = decision.instruction
        if ins.complete:
            decision.status, decision.cause = SETTLED, ""
        elif ins.settled_quantity > 0 or ins.settled_cash != 0:
            decision.status = PARTIAL
        else:
            decision.status = FAILED
    return [decisions[ins.id] for ins in ordered]


def _apply(ins: OpenInstruction, decision: Decision, res: AccountResources, quantity: Decimal, cash: Decimal,
           completes: bool) -> None:
    decision.moved = True
    decision.quantity += quantity
    decision.cash += cash
    ins.settled_quantity += quantity
    ins.settled_cash += cash
    if quantity:
        signed = quantity if ins.direction == RECEIVE else -quantity
        res.positions[ins.instrument_id] = res.positions.get(ins.instrument_id, Decimal(0)) + signed
    # What the payment takes comes out of the instruction's reservation (released), all of what is
    # left of it once the instruction completes. The pool counted the reservation as available
    # already, so it moves by the cash alone.
    released = ins.reserved if completes else min(ins.reserved, max(-cash, Decimal(0)))
    ins.reserved -= released
    decision.reservation_released += released
    res.cash[ins.currency] = res.cash.get(ins.currency, Decimal(0)) + cash
