"""The rules of retention: what may be purged, and how a purge is proven (docs/glossary.md).

The cutoff of a record type (its retention period counted back from a date), the registry of
purgeable record types with what makes a row of each final, dated and held, and the check of a
purge tombstone's signature. Both the purge (records.retention.services) and the reads of the
dashboard (records.retention.selectors, records.audit.selectors) use them.

Record types are registered in PURGE_REGISTRY; other apps add theirs with purge_register.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Exists, OuterRef, Q, TextField
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.utils import timezone

from backoffice.core.jobs.models import JobRun
from records.approvals.models import ChangeRequest
from records.audit.models import AuditRecord
from records.cash.models import CashMovement
from records.exports.signing import signature_valid
from records.positions.models import StockMovement
from records.reference.models import FxRate, Price
from records.trades.files.models import TRADE_FILE, TradeFile, TradeFileRow
from records.trades.models import Trade, TradeEvent, TradeVersion

PURGE_ACTION = "PURGE"
AUDIT_RECORD_TYPE = "records.auditrecord"


# Cutoffs ----------------------------------------------------------------------------------------

def years_before(day: date, years: int) -> date:
    """Return the same month and day `years` earlier (29 February becomes the 28th)."""
    year = day.year - years
    if year < date.min.year:
        return date.min
    try:
        return day.replace(year=year)
    except ValueError:
        return day.replace(year=year, day=28)


def start_of_day(day: date) -> datetime:
    if day == date.min:
        return datetime.min.replace(tzinfo=UTC)  # nothing is older; no time zone arithmetic at the edge
    return timezone.make_aware(datetime.combine(day, time.min))


# Holds ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ActiveHolds:
    """What the active legal holds cover, read once per purge chunk."""

    accounts: frozenset[int] = frozenset()
    instruments: frozenset[int] = frozenset()
    records: dict[str, frozenset[str]] = field(default_factory=dict)

    def record_ids(self, record_type: str) -> frozenset[str]:
        return self.records.get(record_type, frozenset())


def record_pk(model: type[models.Model], record_id) -> object | None:
    try:
        return model._meta.pk.to_python(str(record_id).strip())
    except ValidationError:
        return None


# The purge registry -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Dependent:
    """Rows removed together with their parent (fk points at it); age_field, if any, must be past the cutoff too."""

    model: type[models.Model]
    fk: str
    age_field: str | None = None


@dataclass(frozen=True)
class PurgeSpec:
    """How one record type is purged.

    age_field (and every field in also_past) dates the record: all must be before the cutoff.
    final: only rows in a final state. account_field / instrument_field: the columns account
    and instrument holds look at (None: such holds do not apply to this type). rows_field and
    rows_per_chunk bound a chunk by what its records take with them (a trade file's staged rows,
    counted in its row_count) rather than by their number alone: a chunk stops before that count
    passes rows_per_chunk, and a record heavier than that is a chunk of its own.
    """

    record_type: str
    model: type[models.Model]
    age_field: str
    final: Q = field(default_factory=Q)
    also_past: tuple[str, ...] = ()
    account_field: str | None = None
    instrument_field: str | None = None
    dependents: tuple[Dependent, ...] = ()
    rows_field: str | None = None
    rows_per_chunk: int = 0

    def _bound(self, model: type[models.Model], field_name: str, cutoff: date):
        is_datetime = isinstance(model._meta.get_field(field_name), models.DateTimeField)
        return start_of_day(cutoff) if is_datetime else cutoff

    def held(self, holds: ActiveHolds) -> Q | None:
        """Return the condition matching the rows the holds protect (None: no hold touches this type)."""
        conditions = []
        if self.account_field and holds.accounts:
            conditions.append(Q(**{f"{self.account_field}__in": sorted(holds.accounts)}))
        if self.instrument_field and holds.instruments:
            conditions.append(Q(**{f"{self.instrument_field}__in": sorted(holds.instruments)}))
        pks = [pk for pk in (record_pk(self.model, rid) for rid in holds.record_ids(self.record_type))
               if pk is not None]
        if pks:
            conditions.append(Q(pk__in=sorted(pks)))
        return any_of(conditions)

    def eligible(self, *, cutoff: date, holds: ActiveHolds) -> models.QuerySet:
        """Return the rows past retention at cutoff, in a final state and not held."""
        rows = self.model._default_manager.filter(self.final)
        for name in (self.age_field, *self.also_past):
            rows = rows.filter(**{f"{name}__lt": self._bound(self.model, name, cutoff)})
        for dependent in self.dependents:
            if dependent.age_field:
                younger = dependent.model._default_manager.filter(**{
                    dependent.fk: OuterRef("pk"),
                    f"{dependent.age_field}__gte": self._bound(dependent.model, dependent.age_field, cutoff)})
                rows = rows.exclude(Exists(younger))
        held = self.held(holds)
        return rows if held is None else rows.exclude(held)

    def chunk_cut(self, candidates: list[tuple]) -> list:
        """Return the ids of the chunk from (pk, rows) pairs in pk order: the longest prefix within
        rows_per_chunk, at least one. Without rows_field, candidates are bare ids and all are taken."""
        if not self.rows_field:
            return candidates
        ids, total = [], 0
        for pk, rows in candidates:
            total += rows or 0
            if ids and total > self.rows_per_chunk:
                break
            ids.append(pk)
        return ids

    def delete(self, ids: list) -> dict[str, int]:
        """Delete these rows and their dependents set-based; return the count per model label."""
        deleted = {}
        for dependent in self.dependents:
            _total, per_model = dependent.model._default_manager.filter(**{f"{dependent.fk}__in": ids}).delete()
            deleted[dependent.model._meta.label_lower] = per_model.get(dependent.model._meta.label, 0)
        _total, per_model = self.model._default_manager.filter(pk__in=ids).delete()
        deleted[self.record_type] = per_model.get(self.model._meta.label, 0)
        return deleted


def any_of(conditions: list[Q]) -> Q | None:
    if not conditions:
        return None
    combined = conditions[0]
    for condition in conditions[1:]:
        combined |= condition
    return combined


PURGE_REGISTRY: dict[str, PurgeSpec] = {}


def purge_register(spec: PurgeSpec) -> PurgeSpec:
    """Make a record type purgeable (other apps call this from their AppConfig.ready)."""
    PURGE_REGISTRY[spec.record_type] = spec
    return spec


purge_register(PurgeSpec(
    "records.trade", Trade, "trade_date", final=Q(status__in=(Trade.Status.SETTLED, Trade.Status.CANCELLED)),
    also_past=("settlement_date",), account_field="account_id", instrument_field="instrument_id",
    dependents=(Dependent(TradeVersion, "trade", "superseded_at"), Dependent(TradeEvent, "trade", "at"))))
purge_register(PurgeSpec("records.price", Price, "price_date", instrument_field="instrument_id"))
purge_register(PurgeSpec("records.fxrate", FxRate, "rate_date"))
# A cash movement goes; the balance it moved stays (balances are running totals, not sums of what is kept).
purge_register(PurgeSpec("records.cashmovement", CashMovement, "value_date", account_field="account_id"))
purge_register(PurgeSpec("records.stockmovement", StockMovement, "value_date", account_field="account_id",
                         instrument_field="instrument_id"))
purge_register(PurgeSpec("records.changerequest", ChangeRequest, "decided_at",
                         final=~Q(status=ChangeRequest.Status.PENDING) & Q(decided_at__isnull=False)))
# A trade file and its staged rows (the per-row report) go together, dated by upload. Final once the file
# is completed, or its booking job failed (or is gone) and no queued or running trade-file job names it (a
# rerun or a resume of the failed job would book it); its chunks lock the file's row, so a purge chunk skips
# a file being booked. Held only by a record hold on the file: the rows name accounts and instruments as
# the text the file gave (codes, ISINs, or inside an NDJSON line), so an account or instrument hold would
# mean reading every staged row of every old file; the trades booked from a file are records.trade rows,
# kept by those holds and by their own six years. The rows go by one DELETE by file id a chunk, explicitly:
# the foreign key's cascade is Django's, not the database's (the files' own delete repeats it, finding none).
# A chunk holds at most 500,000 staged rows, so a million-row file is a chunk of its own.
_BOOKING = JobRun.objects.filter(kind=TRADE_FILE, status__in=(JobRun.Status.QUEUED, JobRun.Status.RUNNING))
purge_register(PurgeSpec(
    "records.tradefile", TradeFile, "uploaded_at",
    final=((Q(completed_at__isnull=False) | Q(job__status=JobRun.Status.FAILED) | Q(job__isnull=True))
           & ~Exists(_BOOKING.annotate(file_key=KT("parameters__file_id"))
                     .filter(file_key=Cast(OuterRef("pk"), TextField())))),
    dependents=(Dependent(TradeFileRow, "file"),), rows_field="row_count", rows_per_chunk=500_000))
# Audit records: a PurgeSpec for the registry's sake; purged block by block (see records.retention.services).
purge_register(PurgeSpec(AUDIT_RECORD_TYPE, AuditRecord, "at"))


# Tombstones -------------------------------------------------------------------------------------

def tombstone_verify(record: AuditRecord) -> bool:
    """Return True if a purge tombstone's signature matches its content under the signing key."""
    if record.action != PURGE_ACTION or not isinstance(record.after, dict):
        return False
    content = dict(record.after)
    signature = content.pop("signature", "")
    return signature_valid(content, signature)
