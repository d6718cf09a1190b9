"""The stock record: positions kept in step with their movements."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from backoffice.core.exceptions import BusinessRuleError, ConflictError

from ..models import Account, Instrument, Position, StockMovement
from .audit import Actor, audit_log, snapshot


def position_lock(*, account: Account, instrument: Instrument) -> Position:
    """Return the position row of (account, instrument), locked; create it if missing.

    Call inside an atomic block.
    """
    position = Position.objects.select_for_update().filter(account=account, instrument=instrument).first()
    if position is not None:
        return position
    try:
        with transaction.atomic():
            Position.objects.create(account=account, instrument=instrument)
    except IntegrityError:
        pass  # created concurrently; lock theirs below
    return Position.objects.select_for_update().get(account=account, instrument=instrument)


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
    Position.objects.filter(pk=position.pk).update(
        traded_quantity=F("traded_quantity") + quantity, settled_quantity=F("settled_quantity") + quantity)
    position.refresh_from_db()
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

    def is_zero(self) -> bool:
        return not (self.traded or self.settled or self.pending_receipt or self.pending_delivery)


def trade_booking_delta(*, side: str, quantity: Decimal, sign: int = 1) -> PositionDelta:
    """Return what booking (sign=1) or unbooking (sign=-1) an unsettled trade does to its position."""
    if side == "BUY":
        return PositionDelta(traded=sign * quantity, pending_receipt=sign * quantity)
    return PositionDelta(traded=-sign * quantity, pending_delivery=sign * quantity)


_CREATE_MISSING = """
INSERT INTO {table} (account_id, instrument_id, traded_quantity, settled_quantity, pending_receipt,
                     pending_delivery, updated_at)
VALUES {values}
ON CONFLICT (account_id, instrument_id) DO NOTHING
"""

# Add, never assign: a CTE of deltas joined to the positions (PostgreSQL and SQLite >= 3.33).
_ADD_DELTAS = """
WITH delta (account_id, instrument_id, traded, settled, receipt, delivery) AS (VALUES {values})
UPDATE {table} SET
    traded_quantity = {table}.traded_quantity + delta.traded,
    settled_quantity = {table}.settled_quantity + delta.settled,
    pending_receipt = {table}.pending_receipt + delta.receipt,
    pending_delivery = {table}.pending_delivery + delta.delivery,
    updated_at = %s
FROM delta
WHERE {table}.account_id = delta.account_id AND {table}.instrument_id = delta.instrument_id
"""


def positions_apply(deltas: dict[tuple[int, int], PositionDelta], *, chunk_size: int = 500) -> int:
    """Add deltas to the positions keyed (account_id, instrument_id), creating missing rows.

    Two statements per chunk (create missing rows, then add the deltas in one UPDATE), rows
    touched in key order so that concurrent batches lock positions in the same order. The check
    constraints hold on the result: a delta may be negative, a position may not go below what
    the constraints allow. Call inside the transaction that books what moved the positions.
    """
    keys = sorted(k for k, d in deltas.items() if not d.is_zero())
    if not keys:
        return 0
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("positions_apply must run inside the transaction of the change")
    now = timezone.now()
    table = Position._meta.db_table
    numeric = "CAST(%s AS NUMERIC)" if connection.vendor == "postgresql" else "%s"
    with connection.cursor() as cursor:
        for start in range(0, len(keys), chunk_size):
            chunk = keys[start:start + chunk_size]
            zeros, params = [], []
            for account_id, instrument_id in chunk:
                d = deltas[(account_id, instrument_id)]
                zeros += [account_id, instrument_id, 0, 0, 0, 0, now]
                params += [account_id, instrument_id, d.traded, d.settled, d.pending_receipt, d.pending_delivery]
            cursor.execute(_CREATE_MISSING.format(
                table=table, values=", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(chunk))), zeros)
            if connection.vendor == "postgresql":
                # Lock in key order: the UPDATE below joins in any order, and two batches locking
                # the same positions in different orders would deadlock.
                cursor.execute(f"SELECT id FROM {table} WHERE (account_id, instrument_id) IN ("  # noqa: S608
                               + ", ".join(["(%s, %s)"] * len(chunk))
                               + ") ORDER BY account_id, instrument_id FOR UPDATE", [v for k in chunk for v in k])
            row = f"(%s, %s, {numeric}, {numeric}, {numeric}, {numeric})"
            cursor.execute(_ADD_DELTAS.format(table=table, values=", ".join([row] * len(chunk))), [*params, now])
    return len(keys)
