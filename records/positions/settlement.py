"""The stock record's side of settlement: settled quantities in, pending quantities out (DESIGN.md §6).

Booking a trade moves the trade-date position and puts its quantity in pending receipt (a buy) or
pending delivery (a sell), gross. Settling moves the settled position by what was received (+) or
delivered (-) and takes what settled off those pending quantities, so that
traded = settled + pending_receipt - pending_delivery holds before and after; the trade-date
(traded) quantity does not move. Settlements (settlements/runs/services.py) is the caller: it locks
the positions it decides on with positions_lock_settled, then applies what it settled with
positions_settle, both inside its transaction.
"""

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal, localcontext

from django.db import connection, transaction

from records.audit.services.audit import Actor
from records.positions.services import PositionDelta, positions_apply

# The stock record's precision (QuantityField: six places): a pending release is cut to it.
QUANTUM = Decimal("0.000001")


@dataclass(frozen=True)
class PendingRelease:
    """How much of the gross pending quantities a settlement has taken off, so far (cumulative)."""

    receipt: Decimal
    delivery: Decimal


def pending_release(*, buy_quantity: Decimal, sell_quantity: Decimal, settled: Decimal,
                    complete: bool) -> PendingRelease:
    """Return what settling `settled` (signed: + received, - delivered) of a net obligation has released.

    buy_quantity and sell_quantity are the gross quantities of the trades it nets (a gross trade:
    its own quantity on its side, 0 on the other). Always receipt - delivery = settled, so the
    trade-date position does not move. A complete settlement releases both gross quantities; a
    partial one releases the other side pro rata, cut to six places: receiving 30 of a net 60
    (buys 100, sells 40) releases 20 of the sells and 50 of the buys. Cumulative, so the release
    of one settlement is pending_release(after) - pending_release(before).
    """
    if complete:
        return PendingRelease(buy_quantity, sell_quantity)
    net = buy_quantity - sell_quantity
    if settled == 0 or net == 0:
        return PendingRelease(Decimal(0), Decimal(0))
    with localcontext() as ctx:
        ctx.prec = 80
        if net > 0:
            delivery = (sell_quantity * settled / net).quantize(QUANTUM, rounding=ROUND_DOWN)
            return PendingRelease(settled + delivery, delivery)
        receipt = (buy_quantity * settled / net).quantize(QUANTUM, rounding=ROUND_DOWN)
        return PendingRelease(receipt, receipt - settled)


@dataclass
class SettledMove:
    """What settlement does to one position: settled += settled, pending receipt and delivery -= their release."""

    settled: Decimal = Decimal(0)
    receipt: Decimal = Decimal(0)
    delivery: Decimal = Decimal(0)

    def add(self, *, settled: Decimal, release_before: PendingRelease, release_after: PendingRelease) -> None:
        self.settled += settled
        self.receipt += release_after.receipt - release_before.receipt
        self.delivery += release_after.delivery - release_before.delivery


_LOCK_SETTLED = """
SELECT position.account_id, position.instrument_id, position.settled_quantity
FROM records_position AS position
JOIN unnest(%s::bigint[], %s::bigint[]) AS wanted (account_id, instrument_id) USING (account_id, instrument_id)
ORDER BY position.account_id, position.instrument_id
FOR UPDATE OF position
"""


def positions_lock_settled(keys) -> dict[tuple[int, int], Decimal]:
    """Lock the positions keyed (account_id, instrument_id) and return their settled quantities (missing: absent).

    Rows are locked in (account, instrument) order, the order positions_apply writes them in.
    Call inside the transaction that will settle them.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("positions_lock_settled must run inside the transaction of the settlement")
    keys = sorted(set(keys))
    if not keys:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(_LOCK_SETTLED, [[a for a, _ in keys], [i for _, i in keys]])
        return {(account_id, instrument_id): settled for account_id, instrument_id, settled in cursor.fetchall()}


def positions_settle(moves: dict[tuple[int, int], SettledMove], *, actor: Actor, reason: str) -> int:
    """Apply settled movements to the positions keyed (account_id, instrument_id); audited (one record a position).

    settled_quantity += settled, pending_receipt -= receipt, pending_delivery -= delivery, in one
    set-based pass (positions_apply). Each move must leave the trade-date position alone
    (settled = receipt - delivery), else ValueError; a release larger than what is pending
    violates the position's check constraint and the transaction fails. Returns the positions moved.
    """
    deltas = {}
    for key, move in moves.items():
        if move.settled != move.receipt - move.delivery:
            raise ValueError(f"settlement of position {key} would move its trade-date quantity: settled "
                             f"{move.settled}, receipt {move.receipt}, delivery {move.delivery}")
        deltas[key] = PositionDelta(settled=move.settled, pending_receipt=-move.receipt,
                                    pending_delivery=-move.delivery)
    return positions_apply(deltas, actor=actor, reason=reason)
