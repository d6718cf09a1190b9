"""Reads of retention: policies with their cutoffs, legal holds, purge tombstones."""

from dataclasses import dataclass
from datetime import date

from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL

from records.audit.models import AuditRecord
from records.retention.models import LegalHold, RetentionPolicy
from records.retention.rules import PURGE_ACTION, PURGE_REGISTRY, tombstone_verify, years_before


@dataclass(frozen=True)
class PolicyRow:
    policy: RetentionPolicy
    cutoff: date  # records dated before this are past retention today
    purgeable: bool  # the purge knows how to remove this type


def retention_policy_rows(*, today: date) -> list[PolicyRow]:
    return [PolicyRow(policy, years_before(today, policy.retention_years), policy.record_type in PURGE_REGISTRY)
            for policy in RetentionPolicy.objects.order_by("record_type")]


def legal_hold_list(*, active: bool | None = None) -> QuerySet[LegalHold]:
    """Return holds, newest first; active=True only unreleased ones, False only released ones."""
    holds = LegalHold.objects.select_related("account", "instrument", "placed_by", "released_by")
    if active is True:
        holds = holds.filter(released_at__isnull=True)
    elif active is False:
        holds = holds.filter(released_at__isnull=False)
    return holds.order_by("-placed_at", "-id")


def legal_hold_get(hold_id: int) -> LegalHold | None:
    return legal_hold_list().filter(pk=hold_id).first()


@dataclass(frozen=True)
class TombstoneRow:
    record: AuditRecord
    signature_ok: bool

    @property
    def content(self) -> dict:
        return self.record.after or {}


# The action as a literal in the statement, not a parameter: the partial index of tombstones (audit_purge_idx)
# serves only a statement whose predicate implies its own, and a prepared statement's generic plan (chosen after a
# few executions) cannot know what a parameter holds; it walked the whole trail backwards for no row at all.
_IS_TOMBSTONE = RawSQL(f"records_auditrecord.action = '{PURGE_ACTION}'", (), output_field=BooleanField())  # noqa: S611 (constants)


def purge_tombstones(*, limit: int = 20) -> list[TombstoneRow]:
    """Return the latest purge tombstones, newest first, each with its signature checked."""
    records = AuditRecord.objects.filter(_IS_TOMBSTONE).order_by("-id")[:limit]
    return [TombstoneRow(record, tombstone_verify(record)) for record in records]
