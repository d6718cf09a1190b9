"""Cash reservations: cash earmarked for settlements not yet made, per account and currency.

A settlement instruction that pays cash (settlements) reserves it when it is created, so that what
an account can still spend (available = balance - reserved + credit limit) already counts what it
owes on its open instructions; the settlement run releases the reservation as the cash leaves.
Records never imports settlements: settlements calls cash_reservations_apply.
"""

from collections.abc import Mapping
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from backoffice.core.exceptions import BusinessRuleError
from backoffice.core.fields import format_decimal
from records.audit.services.audit import Actor, AuditEntry, CanonicalJSON, audit_log_bulk, record_type_of
from records.cash.models import CashBalance

# The deltas travel as three arrays, unnested in key order: PostgreSQL inserts, or locks for
# update, the balances in that order, so two batches touching the same balances never deadlock.
_DELTAS = """
SELECT * FROM unnest(%s::bigint[], %s::text[], %s::numeric[]) AS delta (account_id, currency, reserved)
ORDER BY account_id, currency
"""

# Reserving (every delta positive): one upsert. The inserted row passes the check constraint.
_UPSERT = """
INSERT INTO {table} AS balance (account_id, currency, balance, reserved, updated_at)
SELECT account_id, currency, 0, reserved, %s FROM ({deltas}) AS delta
ORDER BY account_id, currency
ON CONFLICT (account_id, currency) DO UPDATE SET
    reserved = balance.reserved + excluded.reserved,
    updated_at = excluded.updated_at
RETURNING balance.id, balance.account_id, balance.currency, balance.balance, balance.reserved
"""

# Releasing: lock the balances in key order and read what is reserved, check, then add.
_LOCK = """
SELECT balance.account_id, balance.currency, balance.reserved
FROM {table} AS balance JOIN ({deltas}) AS delta USING (account_id, currency)
ORDER BY balance.account_id, balance.currency FOR UPDATE OF balance
"""

_ADD = """
UPDATE {table} AS balance SET reserved = balance.reserved + delta.reserved, updated_at = %s
FROM ({deltas}) AS delta
WHERE balance.account_id = delta.account_id AND balance.currency = delta.currency
RETURNING balance.id, balance.account_id, balance.currency, balance.balance, balance.reserved
"""

_CASH_BALANCE = record_type_of(CashBalance)


def _balance_json(account_id: int, currency: str, balance: Decimal, reserved: Decimal) -> CanonicalJSON:
    # Keys in sorted order; ids are digits, the currency three letters, amounts plain decimals: nothing to escape.
    return CanonicalJSON(f'{{"account_id":{account_id:d},"balance":"{format_decimal(balance)}",'
                         f'"currency":"{currency}","reserved":"{format_decimal(reserved)}"}}')


def cash_reservations_apply(deltas: Mapping[tuple[int, str], Decimal], *, actor: Actor, reason: str = "") -> int:
    """Add deltas to the cash reserved per (account_id, currency); return how many balances moved.

    Contract, for the settlements that call it:
    - a positive delta reserves cash (an instruction that pays is created): the balance row is
      created when missing (balance 0), and `reserved` grows by the delta;
    - a negative delta releases it (the instruction paid, in whole or in part, or was cancelled):
      release exactly what was reserved for the cash that moved or will not move, never more.
      Releasing more than a balance holds reserved, or from a balance that does not exist, raises
      BusinessRuleError and changes nothing (the caller's transaction is expected to roll back);
    - `balance` is never touched here: the cash itself moves through cash movements;
    - zero deltas are ignored; keys are (account id, ISO currency code).

    Set-based: one upsert when every delta reserves, else one locking SELECT and one UPDATE, rows
    taken in (account, currency) order. Each balance moved gets one audit record (before and after:
    account, currency, balance, reserved), written in bulk. Call inside the transaction of the
    change that reserves or releases.
    """
    keys = sorted(key for key, delta in deltas.items() if delta)
    if not keys:
        return 0
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("cash_reservations_apply must run inside the transaction of the change")
    now = timezone.now()
    table = CashBalance._meta.db_table
    arrays = [[account for account, _ in keys], [currency for _, currency in keys], [deltas[key] for key in keys]]
    with connection.cursor() as cursor:
        if all(deltas[key] > 0 for key in keys):
            cursor.execute(_UPSERT.format(table=table, deltas=_DELTAS), [now, *arrays])
        else:
            cursor.execute(_LOCK.format(table=table, deltas=_DELTAS), arrays)
            reserved = {(account, currency): amount for account, currency, amount in cursor.fetchall()}
            short = [key for key in keys if reserved.get(key, Decimal(0)) + deltas[key] < 0]
            if short:
                account, currency = short[0]
                raise BusinessRuleError(
                    f"Cannot release {format_decimal(-deltas[short[0]])} {currency} of account {account}: only "
                    f"{format_decimal(reserved.get(short[0], Decimal(0)))} is reserved.", field="reserved")
            cursor.execute(_ADD.format(table=table, deltas=_DELTAS), [now, *arrays])
        rows = cursor.fetchall()
    entries = [AuditEntry(_CASH_BALANCE, pk, _balance_json(account, currency, balance,
                                                           reserved - deltas[(account, currency)]),
                          _balance_json(account, currency, balance, reserved))
               for pk, account, currency, balance, reserved in sorted(rows, key=lambda row: row[0])]
    audit_log_bulk(actor=actor, action="UPDATE", entries=entries, reason=reason)
    return len(entries)
