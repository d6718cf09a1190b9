"""Cash's side of settlement: the cash that settled, booked as movements of kind SETTLEMENT (DESIGN.md §6).

Settlements (settlements/runs/services.py) locks the balances it decides on with
cash_lock_available, then books what settled with cash_settle, both inside its transaction. Every
settled amount is a CashMovement with a unique reference, and each balance moves by the sum of its
movements, so a balance stays the sum of its movements. Reserved cash (records/cash/reservations.py)
is released by the caller, through cash_reservations_apply.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from backoffice.core.bulk import allocate_ids, batch_value, insert_rows
from records.audit.services.audit import Actor, AuditEntry, actor_fields, audit_log_bulk, record_type_of
from records.cash.models import CashBalance, CashMovement


@dataclass(frozen=True)
class AvailableCash:
    """A balance as settlement sees it: balance, reserved, and the account's credit limit."""

    balance: Decimal
    reserved: Decimal
    credit_limit: Decimal

    @property
    def available(self) -> Decimal:
        """What a payment may use: balance - reserved + credit limit."""
        return self.balance - self.reserved + self.credit_limit


@dataclass(frozen=True)
class SettlementCash:
    """One amount of cash that settled (signed: + received, - paid), booked as one movement."""

    account_id: int
    currency: str
    amount: Decimal
    value_date: date
    reference: str
    description: str = ""


_LOCK_BALANCES = """
SELECT balance.account_id, balance.currency, balance.balance, balance.reserved
FROM records_cashbalance AS balance
JOIN unnest(%s::bigint[], %s::text[]) AS wanted (account_id, currency) USING (account_id, currency)
ORDER BY balance.account_id, balance.currency
FOR UPDATE OF balance
"""


def cash_lock_available(keys) -> dict[tuple[int, str], AvailableCash]:
    """Lock the balances keyed (account_id, currency) and return them with the account's credit limit.

    A missing balance is returned as zero (the upsert of cash_settle creates it). Rows are locked
    in (account, currency) order, the order cash_settle writes them in. Call inside the transaction
    that will settle them.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("cash_lock_available must run inside the transaction of the settlement")
    keys = sorted(set(keys))
    if not keys:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(_LOCK_BALANCES, [[a for a, _ in keys], [c for _, c in keys]])
        found = {(a, c): (balance, reserved) for a, c, balance, reserved in cursor.fetchall()}
        cursor.execute("SELECT id, credit_limit FROM records_account WHERE id = ANY(%s::bigint[])",
                       [sorted({a for a, _ in keys})])
        limits = dict(cursor.fetchall())
    zero = Decimal(0)
    return {key: AvailableCash(*found.get(key, (zero, zero)), credit_limit=limits.get(key[0], zero)) for key in keys}


# Add, never assign: rows in key order, so two settlements of the same balances never deadlock.
_ADD_TO_BALANCES = """
INSERT INTO records_cashbalance AS balance (account_id, currency, balance, reserved, updated_at)
SELECT account_id, currency, amount, 0, %s FROM unnest(%s::bigint[], %s::text[], %s::numeric[])
    AS delta (account_id, currency, amount)
ORDER BY account_id, currency
ON CONFLICT (account_id, currency) DO UPDATE SET balance = balance.balance + excluded.balance,
                                                 updated_at = excluded.updated_at
RETURNING balance.id, balance.account_id, balance.currency, balance.balance, balance.reserved
"""

_MOVEMENT_COLUMNS = ("id", "account_id", "currency", "amount", "value_date", "kind", "reference", "description",
                     "created_by_id", "created_at")
_MOVEMENT = record_type_of(CashMovement)
_BALANCE = record_type_of(CashBalance)
AUDIT_BATCH = 20_000


def cash_settle(movements: list[SettlementCash], *, actor: Actor, reason: str) -> int:
    """Book settled cash: one CashMovement (kind SETTLEMENT) per item, each balance += the sum of its items.

    Items of amount zero are skipped (a movement is never zero). References must be new (the
    unique constraint refuses one used before: what settled is never booked twice). Set-based:
    ids reserved up front, the movements copied in, the balances upserted in key order in one
    statement; audited in bulk (a CREATE of each movement, an UPDATE of each balance). Call inside
    the settlement's transaction. Returns the movements booked.
    """
    movements = [m for m in movements if m.amount != 0]
    if not movements:
        return 0
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("cash_settle must run inside the transaction of the settlement")
    now = timezone.now()
    user, _label = actor_fields(actor)
    user_id = user.pk if user is not None else None
    ids = allocate_ids(CashMovement, len(movements))
    stamp = batch_value(now)
    rows, entries = [], []
    totals: dict[tuple[int, str], Decimal] = {}
    for pk, m in zip(ids, movements, strict=True):
        rows.append((pk, m.account_id, m.currency, m.amount, m.value_date, CashMovement.Kind.SETTLEMENT,
                     m.reference, m.description, user_id, stamp))
        entries.append(AuditEntry(_MOVEMENT, pk, None, {
            "id": pk, "account_id": m.account_id, "currency": m.currency, "amount": m.amount,
            "value_date": m.value_date, "kind": CashMovement.Kind.SETTLEMENT, "reference": m.reference,
            "description": m.description, "created_by_id": user_id}))
        totals[(m.account_id, m.currency)] = totals.get((m.account_id, m.currency), Decimal(0)) + m.amount
    insert_rows(CashMovement, _MOVEMENT_COLUMNS, rows)
    keys = sorted(totals)
    with connection.cursor() as cursor:
        cursor.execute(_ADD_TO_BALANCES, [now, [a for a, _ in keys], [c for _, c in keys], [totals[k] for k in keys]])
        for pk, account_id, currency, balance, reserved in cursor.fetchall():
            moved = totals[(account_id, currency)]
            entries.append(AuditEntry(_BALANCE, pk, _balance_json(pk, account_id, currency, balance - moved, reserved),
                                      _balance_json(pk, account_id, currency, balance, reserved)))
    for start in range(0, len(movements), AUDIT_BATCH):  # copied a batch at a time: memory stays flat
        audit_log_bulk(actor=actor, action="CREATE", entries=entries[start:min(start + AUDIT_BATCH, len(movements))],
                       reason=reason)
    audit_log_bulk(actor=actor, action="UPDATE", entries=entries[len(movements):], reason=reason)
    return len(movements)


def _balance_json(pk: int, account_id: int, currency: str, balance: Decimal, reserved: Decimal) -> dict:
    # The fields snapshot(balance) gives cash_movement_create's audit record, so both read alike.
    return {"id": pk, "account_id": account_id, "currency": currency, "balance": balance, "reserved": reserved}
