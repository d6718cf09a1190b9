"""Cash movements and balances. A balance always equals the sum of its movements."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import IntegrityError, transaction

from backoffice.core.exceptions import BusinessRuleError, ConflictError
from backoffice.core.locks import lock_or_create
from records.audit.services.audit import Actor, audit_log, snapshot
from records.cash.models import CashBalance, CashMovement
from records.reference.models import Account
from records.reference.validators import currency_exponent


@dataclass(frozen=True)
class CashMovementResult:
    movement: CashMovement
    created: bool


def cash_balance_lock(*, account: Account, currency: str) -> CashBalance:
    """Return the balance row of (account, currency), locked; create it if missing.

    Call inside an atomic block. Locks are taken one row at a time in (account, currency) order
    by callers that need several.
    """
    return lock_or_create(CashBalance, account=account, currency=currency)


def _same_movement(existing: CashMovement, *, account: Account, currency: str, amount: Decimal,
                   value_date: date) -> bool:
    return (existing.account_id == account.pk and existing.currency == currency and existing.amount == amount
            and existing.value_date == value_date)


@transaction.atomic
def cash_movement_create(*, actor: Actor, account: Account, currency: str, amount: Decimal, value_date: date,
                         reference: str, kind: str | None = None, description: str = "",
                         reason: str = "") -> CashMovementResult:
    """Book a cash movement (deposit positive, withdrawal negative), idempotent by reference.

    The same reference with the same content returns the existing movement; with other content
    it is a conflict. A withdrawal may not take the balance below minus the account's credit limit.
    """
    existing = CashMovement.objects.filter(reference=reference).first()
    if existing is not None:
        if _same_movement(existing, account=account, currency=currency, amount=amount, value_date=value_date):
            return CashMovementResult(existing, created=False)
        raise ConflictError(f"Cash movement reference {reference!r} was already used for a different movement.")
    if amount == 0:
        raise BusinessRuleError("Must not be zero.", field="amount")
    exponent = currency_exponent(currency)
    if -amount.as_tuple().exponent > exponent:
        raise BusinessRuleError(f"{currency} amounts have at most {exponent} decimal places.", field="amount")
    if account.status == Account.Status.CLOSED:
        raise BusinessRuleError(f"Account {account.code} is closed.", field="account")
    kind = kind or (CashMovement.Kind.DEPOSIT if amount > 0 else CashMovement.Kind.WITHDRAWAL)

    balance = cash_balance_lock(account=account, currency=currency)
    if amount < 0 and balance.available + amount < -account.credit_limit:
        raise BusinessRuleError(
            f"Insufficient cash: {balance.available} {currency} available, credit limit {account.credit_limit}.",
            field="amount")
    try:
        with transaction.atomic():
            movement = CashMovement.objects.create(
                account=account, currency=currency, amount=amount, value_date=value_date, kind=kind,
                reference=reference, description=description,
                created_by=actor if actor is not None and not isinstance(actor, str) else None)
    except IntegrityError:
        # The same reference committed concurrently: answer as for a repeated request.
        existing = CashMovement.objects.get(reference=reference)
        if _same_movement(existing, account=account, currency=currency, amount=amount, value_date=value_date):
            return CashMovementResult(existing, created=False)
        raise ConflictError(
            f"Cash movement reference {reference!r} was already used for a different movement.") from None
    before = snapshot(balance)
    # The row is locked: read, add and write back.
    balance.balance += amount
    balance.save(update_fields=["balance", "updated_at"])
    audit_log(actor=actor, action="CREATE", instance=movement, after=snapshot(movement), reason=reason)
    audit_log(actor=actor, action="UPDATE", instance=balance, before=before, after=snapshot(balance),
              reason=reason or f"cash movement {reference}")
    return CashMovementResult(movement, created=True)
