"""The stock record: positions kept in step with their movements."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from backoffice.core.exceptions import BusinessRuleError, ConflictError
from backoffice.core.fields import format_decimal
from backoffice.core.locks import lock_or_create
from records.audit.services.audit import (
    Actor,
    AuditEntry,
    CanonicalJSON,
    audit_log,
    audit_log_bulk,
    record_type_of,
    snapshot,
)
from records.positions.models import Position, StockMovement
from records.reference.models import Account, Instrument


def position_lock(*, account: Account, instrument: Instrument) -> Position:
    """Return the position row of (account, instrument), locked; create it if missing.

    Call inside an atomic block.
    """
    return lock_or_create(Position, account=account, instrument=instrument)


@transaction.atomic
def stock_movement_create(*, actor: Actor, account: Account, instrument: Instrument, quantity: Decimal,
                          value_date: date, reference: str, kind: str = StockMovement.Kind.OPENING,
                          description: str = "", reason: str = "") -> tuple[StockMovement, bool]:
    """Book a settled movement of securities (opening position, transfer, adjustment).

    Idempotent by reference. Moves both the trade-date and the settled position. A delivery
    may not take the settled position below zero.
    """
    existing = StockMovement.objects.filter(reference=reference).first()
    if existing is not None:
        if (existing.account_id, existing.instrument_id, existing.quantity, existing.value_date) == (
                account.pk, instrument.pk, quantity, value_date):
            return existing, False
        raise ConflictError(f"Stock movement reference {reference!r} was already used for a different movement.")
    if quantity == 0:
        raise BusinessRuleError("Must not be zero.", field="quantity")
    position = position_lock(account=account, instrument=instrument)
    if quantity < 0 and position.settled_quantity + quantity < 0:
        raise BusinessRuleError(
            f"Insufficient settled position: {position.settled_quantity} held.", field="quantity")
    movement = StockMovement.objects.create(
        account=account, instrument=instrument, quantity=quantity, value_date=value_date, kind=kind,
        reference=reference, description=description,
        created_by=actor if actor is not None and not isinstance(actor, str) else None)
    before = snapshot(position)
    # The row is locked: read, add and write back.
    position.traded_quantity += quantity
    position.settled_quantity += quantity
    position.save(update_fields=["traded_quantity", "settled_quantity", "updated_at"])
    audit_log(actor=actor, action="CREATE", instance=movement, after=snapshot(movement), reason=reason)
    audit_log(actor=actor, action="UPDATE", instance=position, before=before, after=snapshot(position),
              reason=reason or f"stock movement {reference}")
    return movement, True


@dataclass
class PositionDelta:
    """Changes to one position, added (not assigned) by positions_apply."""

    traded: Decimal = Decimal(0)
    settled: Decimal = Decimal(0)
    pending_receipt: Decimal = Decimal(0)
    pending_delivery: Decimal = Decimal(0)

    def add(self, other: "PositionDelta") -> None:
        self.traded += other.traded
        self.settled += other.settled
        self.pending_receipt += other.pending_receipt
        self.pending_delivery += other.pending_delivery

    def add_booking(self, side: str, quantity: Decimal) -> None:
        """Add the booking of an unsettled trade (a negative quantity unbooks it): a buy is traded and
        pending receipt, a sell traded short and pending delivery. Batch paths call this per trade."""
        if side == "BUY":
            self.traded += quantity
            self.pending_receipt += quantity
        else:
            self.traded -= quantity
            self.pending_delivery += quantity

    def is_zero(self) -> bool:
        return not (self.traded or self.settled or self.pending_receipt or self.pending_delivery)


def trade_booking_delta(*, side: str, quantity: Decimal, sign: int = 1) -> PositionDelta:
    """Return what booking (sign=1) or unbooking (sign=-1) an unsettled trade does to its position."""
    delta = PositionDelta()
    delta.add_booking(side, quantity if sign == 1 else -quantity)
    return delta


# The deltas travel as six arrays (one parameter each, however many positions), unnested in key
# order: PostgreSQL inserts, or locks for update, the rows in that order, so two batches touching
# the same positions never deadlock.
_DELTAS = """
SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::numeric[], %s::numeric[], %s::numeric[], %s::numeric[])
    AS delta (account_id, instrument_id, traded, settled, receipt, delivery)
ORDER BY account_id, instrument_id
"""

# Adding non-negative pending quantities (booking trades): one upsert. The inserted row must pass
# the check constraints on its own, so negative pending deltas take the two-step path below.
_UPSERT = """
INSERT INTO {table} AS position (account_id, instrument_id, traded_quantity, settled_quantity, pending_receipt,
                                 pending_delivery, updated_at)
SELECT account_id, instrument_id, traded, settled, receipt, delivery, %s FROM ({deltas}) AS delta
ORDER BY account_id, instrument_id
ON CONFLICT (account_id, instrument_id) DO UPDATE SET
    traded_quantity = position.traded_quantity + excluded.traded_quantity,
    settled_quantity = position.settled_quantity + excluded.settled_quantity,
    pending_receipt = position.pending_receipt + excluded.pending_receipt,
    pending_delivery = position.pending_delivery + excluded.pending_delivery,
    updated_at = excluded.updated_at
RETURNING {returning}
"""

_CREATE_MISSING = """
INSERT INTO {table} (account_id, instrument_id, traded_quantity, settled_quantity, pending_receipt,
                     pending_delivery, updated_at)
SELECT account_id, instrument_id, 0, 0, 0, 0, %s FROM ({deltas}) AS delta
ORDER BY account_id, instrument_id
ON CONFLICT (account_id, instrument_id) DO NOTHING
"""

# Lock in key order: the UPDATE below joins in any order.
_LOCK = """
SELECT position.id FROM {table} AS position JOIN ({deltas}) AS delta USING (account_id, instrument_id)
ORDER BY position.account_id, position.instrument_id FOR UPDATE OF position
"""

# Add, never assign.
_ADD_DELTAS = """
UPDATE {table} AS position SET
    traded_quantity = position.traded_quantity + delta.traded,
    settled_quantity = position.settled_quantity + delta.settled,
    pending_receipt = position.pending_receipt + delta.receipt,
    pending_delivery = position.pending_delivery + delta.delivery,
    updated_at = %s
FROM ({deltas}) AS delta
WHERE position.account_id = delta.account_id AND position.instrument_id = delta.instrument_id
RETURNING {returning}
"""

_QUANTITIES = ("traded_quantity", "settled_quantity", "pending_receipt", "pending_delivery")
_POSITION = record_type_of(Position)


def _position_json(account_id: int, instrument_id: int, traded, settled, receipt, delivery) -> CanonicalJSON:
    # Keys in sorted order; every value is digits (ids) or a plain decimal string: nothing to escape.
    return CanonicalJSON(
        f'{{"account_id":{account_id:d},"instrument_id":{instrument_id:d},'
        f'"pending_delivery":"{format_decimal(delivery)}","pending_receipt":"{format_decimal(receipt)}",'
        f'"settled_quantity":"{format_decimal(settled)}","traded_quantity":"{format_decimal(traded)}"}}')


def _position_audit_entry(position_id, account_id, instrument_id, after: tuple, delta: "PositionDelta") -> AuditEntry:
    """The audit of one position move: values after, and before (after minus the delta added)."""
    traded, settled, receipt, delivery = after
    return AuditEntry(_POSITION, position_id,
                      _position_json(account_id, instrument_id, traded - delta.traded, settled - delta.settled,
                                     receipt - delta.pending_receipt, delivery - delta.pending_delivery),
                      _position_json(account_id, instrument_id, traded, settled, receipt, delivery))


def positions_apply(deltas: dict[tuple[int, int], PositionDelta], *, actor: Actor, reason: str = "",
                    chunk_size: int = 5000) -> int:
    """Add deltas to the positions keyed (account_id, instrument_id), creating missing rows.

    One upsert per chunk when no pending quantity goes down, else three statements
    (create missing rows, lock them, add the deltas), rows touched in key order so that concurrent
    batches lock positions in the same order. The check constraints hold on the result: a delta
    may be negative, a position may not go below what the constraints allow. Each position moved
    gets one audit record (before and after), written in bulk from what the statements return.
    Call inside the transaction that books what moved the positions.
    """
    keys = sorted(k for k, d in deltas.items() if not d.is_zero())
    if not keys:
        return 0
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("positions_apply must run inside the transaction of the change")
    entries = _positions_apply_in_sql(keys, deltas, chunk_size)
    audit_log_bulk(actor=actor, action="UPDATE", entries=entries, reason=reason)
    return len(keys)


def _positions_apply_in_sql(keys, deltas, chunk_size) -> list[AuditEntry]:
    now = timezone.now()
    table = Position._meta.db_table
    returning = ", ".join(f"position.{column}" for column in ("id", "account_id", "instrument_id", *_QUANTITIES))
    entries = []
    with connection.cursor() as cursor:
        for start in range(0, len(keys), chunk_size):
            chunk = keys[start:start + chunk_size]
            moves = [deltas[key] for key in chunk]
            arrays = [[a for a, _ in chunk], [i for _, i in chunk], [d.traded for d in moves],
                      [d.settled for d in moves], [d.pending_receipt for d in moves],
                      [d.pending_delivery for d in moves]]
            if all(d.pending_receipt >= 0 and d.pending_delivery >= 0 and d.settled >= 0 for d in moves):
                cursor.execute(_UPSERT.format(table=table, deltas=_DELTAS, returning=returning), [now, *arrays])
            else:
                cursor.execute(_CREATE_MISSING.format(table=table, deltas=_DELTAS), [now, *arrays])
                cursor.execute(_LOCK.format(table=table, deltas=_DELTAS), arrays)
                cursor.execute(_ADD_DELTAS.format(table=table, deltas=_DELTAS, returning=returning), [now, *arrays])
            entries += [_position_audit_entry(pk, a, i, after, deltas[(a, i)])
                        for pk, a, i, *after in cursor.fetchall()]
    return entries
