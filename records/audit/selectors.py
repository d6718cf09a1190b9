"""Reads of the audit trail: the API's list, and the dashboard's search, one record's diff, the chain's status."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from records.audit.diff import DiffRow
from records.audit.models import AuditBlock, AuditRecord, AuditVerification
from records.retention.rules import PURGE_ACTION, tombstone_verify


def audit_list() -> QuerySet:
    return AuditRecord.objects.select_related("seal").order_by("-id")


def audit_search(*, record_type: str = "", record_id: str = "", actor: str = "", action: str = "",
                 correlation_id: str = "", date_from: date | None = None,
                 date_to: date | None = None) -> QuerySet[AuditRecord]:
    """Audit records matching every filter given, newest first. Each filter is an indexed equality or range."""
    rows = AuditRecord.objects.select_related("seal").order_by("-id")
    if record_type:
        rows = rows.filter(record_type=record_type)
    if record_id:
        rows = rows.filter(record_id=record_id)
    if actor:
        rows = rows.filter(actor_label=actor)
    if action:
        rows = rows.filter(action=action)
    if correlation_id:
        rows = rows.filter(correlation_id=correlation_id)
    if date_from:
        rows = rows.filter(at__gte=_start_of(date_from))
    if date_to:
        rows = rows.filter(at__lt=_start_of(date_to + timedelta(days=1)))
    return rows


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def audit_record_get(record_id: int) -> AuditRecord | None:
    """One audit record with its seal and block (the detail page), or None."""
    return AuditRecord.objects.select_related("seal__block").filter(pk=record_id).first()


def audit_actions() -> list[str]:
    """The actions the trail knows, for a filter: the model's, plus purge tombstones and role changes."""
    return [*AuditRecord.Action.values, "ROLES", PURGE_ACTION]


def audit_diff(record: AuditRecord) -> list[DiffRow]:
    """Every field of before and after, by name, each marked changed or not.

    A creation has no before; a deletion no after; a field present on one side only is a change.
    """
    before = record.before if isinstance(record.before, dict) else {}
    after = record.after if isinstance(record.after, dict) else {}
    if not isinstance(record.before, dict | None) or not isinstance(record.after, dict | None):
        return [DiffRow("(value)", record.before, record.after)]
    # Sorted by name: PostgreSQL's jsonb keeps keys in its own order (shortest first).
    return [DiffRow(name, before.get(name), after.get(name)) for name in sorted({*before, *after})]


def audit_history(record: AuditRecord, *, limit: int = 50) -> list[AuditRecord]:
    """The latest changes to the same record (this one included), newest first."""
    return list(AuditRecord.objects.filter(record_type=record.record_type, record_id=record.record_id)
                .order_by("-id")[:limit])


def audit_same_cause(record: AuditRecord, *, limit: int = 50) -> list[AuditRecord]:
    """Other changes made by the same request or job, oldest first."""
    if not record.correlation_id:
        return []
    return list(AuditRecord.objects.filter(correlation_id=record.correlation_id).exclude(pk=record.pk)
                .order_by("id")[:limit])


def audit_is_tombstone(record: AuditRecord) -> bool:
    return record.action == PURGE_ACTION


def audit_tombstone_valid(record: AuditRecord) -> bool:
    return tombstone_verify(record)


@dataclass(frozen=True)
class ChainStatus:
    """What the dashboard says of the chain without recomputing it: sealed so far, and the last check."""

    blocks: int
    sealed_records: int
    unsealed_records: int
    last_sealed_at: datetime | None
    last_verification: AuditVerification | None
    recent_verifications: list[AuditVerification]


def audit_chain_status() -> ChainStatus:
    """Counts from the block headers (a handful of rows), not from the million-row trail."""
    last_block = AuditBlock.objects.order_by("-id").first()
    sealed_through = last_block.last_record_id if last_block else 0
    blocks = AuditBlock.objects.aggregate(count=Count("id"), sealed=Sum("record_count", filter=Q(pruned_at=None)))
    recent = list(AuditVerification.objects.order_by("-id")[:10])
    return ChainStatus(
        blocks=blocks["count"],
        sealed_records=blocks["sealed"] or 0,
        # Unsealed: written after the last block (a late commit below it is taken by the next seal too).
        unsealed_records=AuditRecord.objects.filter(id__gt=sealed_through).count(),
        last_sealed_at=last_block.sealed_at if last_block else None,
        last_verification=recent[0] if recent else None,
        recent_verifications=recent,
    )
