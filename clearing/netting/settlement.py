"""Net obligations' side of settlement: SETTLED, PARTIALLY_SETTLED or FAILED as their instructions settle.

Settlements (settlements/runs/services.py) calls obligations_settle inside its transaction with the
obligations whose instruction moved: one UPDATE for all of them (its WHERE rechecks the status the
caller read) and their audit records, in bulk.
"""

from dataclasses import dataclass

from django.db import connection, transaction

from clearing.models import Obligation
from records.audit.services.audit import Actor, AuditEntry, CanonicalJSON, audit_log_bulk, record_type_of

SETTLEMENT_STATUSES = (Obligation.Status.SETTLED, Obligation.Status.PARTIALLY_SETTLED, Obligation.Status.FAILED)
# An obligation settles from these: netted, instructed, or on its way through settlement.
SETTLING_STATUSES = ("OPEN", "INSTRUCTED", "PARTIALLY_SETTLED", "FAILED")


@dataclass(frozen=True)
class ObligationSettlement:
    obligation_id: int
    from_status: str
    to_status: str


_UPDATE = """
UPDATE clearing_obligation AS o SET status = change.to_status
FROM unnest(%s::bigint[], %s::text[], %s::text[]) AS change (id, from_status, to_status)
WHERE o.id = change.id AND o.status = change.from_status
RETURNING o.id
"""
_OBLIGATION = record_type_of(Obligation)
AUDIT_BATCH = 20_000


def obligations_settle(changes: list[ObligationSettlement], *, actor: Actor, reason: str) -> int:
    """Move obligations to the status their instruction settled to; audited (TRANSITION each).

    An obligation no longer in the status the caller read raises RuntimeError, so the settlement
    rolls back. Call inside the settlement's transaction.
    """
    changes = sorted((c for c in changes if c.from_status != c.to_status), key=lambda c: c.obligation_id)
    if not changes:
        return 0
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("obligations_settle must run inside the transaction of the settlement")
    for change in changes:
        if change.to_status not in SETTLEMENT_STATUSES or change.from_status not in SETTLING_STATUSES:
            raise ValueError(f"obligation {change.obligation_id}: {change.from_status} -> {change.to_status} is "
                             "not a settlement")
    with connection.cursor() as cursor:
        cursor.execute(_UPDATE, [[c.obligation_id for c in changes], [c.from_status for c in changes],
                                 [c.to_status for c in changes]])
        moved = {row[0] for row in cursor.fetchall()}
    if len(moved) != len(changes):
        stale = sorted({c.obligation_id for c in changes} - moved)[:10]
        raise RuntimeError(f"obligations changed under the settlement: {stale}")
    for start in range(0, len(changes), AUDIT_BATCH):  # built and copied a batch at a time: memory stays flat
        audit_log_bulk(actor=actor, action="TRANSITION", reason=reason, entries=[
            AuditEntry(_OBLIGATION, c.obligation_id, CanonicalJSON(f'{{"status":"{c.from_status}"}}'),
                       CanonicalJSON(f'{{"status":"{c.to_status}"}}'))
            for c in changes[start:start + AUDIT_BATCH]])
    return len(changes)
