"""The stock record: positions kept in step with their movements."""

from datetime import date
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F

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
