"""Cost lots in memory: relieving lots for a trade or stock movement, FIFO or average cost. No database.

Quantities and costs are signed (long lots positive, short lots negative). A movement first
relieves lots of the opposite sign (FIFO: oldest first; average cost: the one pooled lot), each
at its cost pro rata (the last unit of a lot takes the rest of its cost, so a lot's cost is
relieved exactly); what remains opens a lot (FIFO) or joins the pool (average cost) at the
movement's own price. The investments account moves by exactly the lots' change, so its
balance is always the open lots' cost.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from accounting.posting.books import round_amount

FIFO = "FIFO"
AVERAGE = "AVERAGE"


@dataclass
class Lot:
    id: int | None  # None: opened by this chunk, inserted with it
    opened_on: date
    quantity: Decimal
    cost: Decimal
    opened_by: object = None  # the entry id, or the DraftEntry that opens it
    changed: bool = False


@dataclass
class LotChange:
    lot: Lot
    quantity: Decimal
    cost: Decimal


@dataclass
class Relief:
    """What one movement did to the lots: the changes, and the investments account's move (signed)."""

    changes: list[LotChange] = field(default_factory=list)
    relieved_cost: Decimal = Decimal(0)  # Σ cost taken out of opposite lots (signed like them)
    opened_cost: Decimal = Decimal(0)  # cost of what the remainder opened (signed like the movement)

    @property
    def investments(self) -> Decimal:
        return self.opened_cost - self.relieved_cost


def _sign(value: Decimal) -> int:
    return (value > 0) - (value < 0)


def apply(lots: list[Lot], *, quantity: Decimal, value: Decimal, day: date, method: str) -> Relief:
    """Move `quantity` (signed: + in, - out) worth `value` (unsigned, at the movement's price) through lots.

    lots are the account's lots in one instrument, in FIFO order (mutated in place; a new lot is
    appended). Return the relief.
    """
    relief = Relief()
    if method == AVERAGE:
        _pool_open_lots(lots, relief)
    sign = _sign(quantity)
    remaining = abs(quantity)
    for lot in lots:
        if remaining == 0:
            break
        if _sign(lot.quantity) != -sign:
            continue
        take = min(abs(lot.quantity), remaining)
        cost = lot.cost if take == abs(lot.quantity) else round_amount(lot.cost * take / abs(lot.quantity))
        moved = take * sign  # opposite to the lot's sign: reduces it
        lot.quantity += moved
        lot.cost -= cost
        lot.changed = True
        relief.changes.append(LotChange(lot, moved, -cost))
        relief.relieved_cost += cost
        remaining -= take
    if remaining:
        opened = value if remaining == abs(quantity) else round_amount(value * remaining / abs(quantity))
        opened_cost = sign * opened
        relief.opened_cost = opened_cost
        pool = _pool(lots) if method == AVERAGE else None
        if pool is not None and (pool.quantity == 0 or _sign(pool.quantity) == sign):
            pool.quantity += sign * remaining
            pool.cost += opened_cost
            pool.changed = True
            relief.changes.append(LotChange(pool, sign * remaining, opened_cost))
        else:
            lot = Lot(id=None, opened_on=day, quantity=Decimal(0), cost=Decimal(0), changed=True)
            lot.quantity, lot.cost = sign * remaining, opened_cost
            lots.append(lot)
            relief.changes.append(LotChange(lot, sign * remaining, opened_cost))
    return relief


def _pool(lots: list[Lot]) -> Lot | None:
    """The pooled lot of an average-cost position: the last lot (earlier ones are closed)."""
    return lots[-1] if lots else None


def _pool_open_lots(lots: list[Lot], relief: Relief) -> None:
    """Average cost keeps one open lot: move any other open lot into the last one (recorded as changes of
    the movement, so a reversal undoes it). Two open lots arise when a position went flat and was opened
    again in a later run, and a restatement then reopened the earlier lot."""
    open_lots = [lot for lot in lots if lot.quantity != 0]
    if len(open_lots) < 2:
        return
    pool = lots[-1]
    for lot in open_lots:
        if lot is pool:
            continue
        quantity, cost = lot.quantity, lot.cost
        lot.quantity, lot.cost, lot.changed = Decimal(0), Decimal(0), True
        pool.quantity += quantity
        pool.cost += cost
        pool.changed = True
        relief.changes += [LotChange(lot, -quantity, -cost), LotChange(pool, quantity, cost)]


def undo(changes: list[tuple[Lot, Decimal, Decimal]]) -> list[LotChange]:
    """Undo an entry's lot changes (lot, quantity, cost), newest first; return the inverse changes."""
    inverse = []
    for lot, quantity, cost in reversed(changes):
        lot.quantity -= quantity
        lot.cost -= cost
        lot.changed = True
        inverse.append(LotChange(lot, -quantity, -cost))
    return inverse
