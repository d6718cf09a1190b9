"""The trade blotter's side of settlement: trades SETTLED, PARTIALLY_SETTLED or FAILED (DESIGN.md §3, §6).

Settlements (settlements/runs/services.py) decides what settled of each instruction and calls
trades_settle with the trades it moves, inside its transaction: one UPDATE for all of them (its
WHERE rechecks each trade's status and settled quantity as the caller read them), one lifecycle
event each (SETTLE, PARTIAL or FAIL) and their audit records, in bulk.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from backoffice.core.bulk import batch_value, insert_rows
from backoffice.core.fields import format_decimal
from records.audit.services.audit import (
    Actor,
    AuditEntry,
    CanonicalJSON,
    actor_fields,
    audit_log_bulk,
    record_type_of,
)
from records.trades.models import Trade, TradeEvent

# The trade status that follows an instruction's status, and the lifecycle event recording it.
SETTLEMENT_ACTIONS = {
    Trade.Status.SETTLED: TradeEvent.Action.SETTLE,
    Trade.Status.PARTIALLY_SETTLED: TradeEvent.Action.PARTIAL,
    Trade.Status.FAILED: TradeEvent.Action.FAIL,
}
# A trade settles from these: cleared (netted) or on its way through settlement.
SETTLING_STATUSES = ("CLEARED", "PARTIALLY_SETTLED", "FAILED")


@dataclass(frozen=True)
class TradeSettlement:
    """One trade's move: from (status, settled quantity) as the caller read them under lock, to the new ones."""

    trade_id: int
    from_status: str
    from_settled: Decimal
    to_status: str
    to_settled: Decimal
    reason: str


_UPDATE = """
UPDATE records_trade AS t SET status = change.to_status, settled_quantity = change.to_settled, updated_at = %s
FROM unnest(%s::bigint[], %s::text[], %s::numeric[], %s::text[], %s::numeric[])
    AS change (id, from_status, from_settled, to_status, to_settled)
WHERE t.id = change.id AND t.status = change.from_status AND t.settled_quantity = change.from_settled
RETURNING t.id
"""
_EVENT_COLUMNS = ("trade_id", "at", "actor_id", "actor_label", "action", "from_status", "to_status", "reason")
_TRADE = record_type_of(Trade)
AUDIT_BATCH = 20_000


def trades_settle(changes: list[TradeSettlement], *, actor: Actor, reason: str) -> int:
    """Move trades through settlement: status and settled quantity, a lifecycle event and an audit record each.

    to_status is SETTLED, PARTIALLY_SETTLED or FAILED; from_status one of SETTLING_STATUSES. A trade
    that is no longer as the caller read it raises RuntimeError (the caller holds the locks that
    make that impossible), so the whole settlement rolls back. Call inside its transaction.
    """
    if not changes:
        return 0
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("trades_settle must run inside the transaction of the settlement")
    for change in changes:
        if change.to_status not in SETTLEMENT_ACTIONS or change.from_status not in SETTLING_STATUSES:
            raise ValueError(f"trade {change.trade_id}: {change.from_status} -> {change.to_status} is not a "
                             "settlement")
    changes = sorted(changes, key=lambda c: c.trade_id)
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(_UPDATE, [now, [c.trade_id for c in changes], [c.from_status for c in changes],
                                 [c.from_settled for c in changes], [c.to_status for c in changes],
                                 [c.to_settled for c in changes]])
        moved = {row[0] for row in cursor.fetchall()}
    if len(moved) != len(changes):
        stale = sorted({c.trade_id for c in changes} - moved)[:10]
        raise RuntimeError(f"trades changed under the settlement: {stale}")
    user, label = actor_fields(actor)
    user_id = user.pk if user is not None else None
    stamp = batch_value(now)
    insert_rows(TradeEvent, _EVENT_COLUMNS, [
        (c.trade_id, stamp, user_id, label, SETTLEMENT_ACTIONS[c.to_status], c.from_status, c.to_status, c.reason)
        for c in changes])
    for start in range(0, len(changes), AUDIT_BATCH):  # built and copied a batch at a time: memory stays flat
        audit_log_bulk(actor=actor, action="TRANSITION", reason=reason, entries=[
            AuditEntry(_TRADE, c.trade_id, CanonicalJSON(_state(c.from_settled, c.from_status)),
                       CanonicalJSON(_state(c.to_settled, c.to_status)))
            for c in changes[start:start + AUDIT_BATCH]])
    return len(changes)


def _state(settled: Decimal, status: str) -> str:
    # Keys in sorted order; a plain decimal and a status name: nothing to escape.
    return f'{{"settled_quantity":"{format_decimal(settled)}","status":"{status}"}}'
