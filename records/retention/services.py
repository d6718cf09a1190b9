"""Retention of the books and records: policies, legal holds and the purge (docs/glossary.md).

A record may be removed only when all of these hold:

* a retention policy exists for its type, and the record is older than the policy's period
  counted back from today. The cutoff comes from the stored policy and today's date alone;
  the caller's ``as_of`` can only move it earlier (``min(as_of, today)``), never later, so no
  input purges anything younger than its retention period;
* the record is in a final state (a settled or cancelled trade, a decided change request, a
  trade file booked or whose booking failed for good, an audit record in a sealed block), and
  everything removed with it (a trade's versions and lifecycle events) is past the cutoff too;
* no active legal hold covers it: by account, by instrument, or the record itself.

The purge works in chunks: each chunk's ids are chosen by one query, deleted set-based and
recorded by one signed tombstone audit record, all in one transaction; a killed run loses at
most one chunk and a rerun purges nothing more. Audit records are purged a whole sealed block
at a time, so the hash chain still verifies after every committed chunk (the block header
stays, marked pruned).

Record types are registered in PURGE_REGISTRY (records.retention.rules); other apps add theirs
with purge_register.
"""

import contextlib
import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date

from django.apps import apps
from django.db import connection, models, transaction
from django.db.models import CharField, Exists, OuterRef, Q
from django.db.models.deletion import ProtectedError, RestrictedError
from django.db.models.functions import Cast
from django.utils import timezone

from backoffice.core.exceptions import BusinessRuleError
from records.audit.models import AuditBlock, AuditRecord, AuditSeal, _maintenance
from records.audit.services.audit import Actor, audit_log, snapshot
from records.exports.signing import sign
from records.reference.models import Account, Instrument
from records.retention.models import LegalHold, RetentionPolicy
from records.retention.rules import (
    AUDIT_RECORD_TYPE,
    PURGE_ACTION,
    PURGE_REGISTRY,
    ActiveHolds,
    any_of,
    record_pk,
    start_of_day,
    years_before,
)

PURGE_ACTOR = "job:retention-purge"
# Taken shared by each purge chunk and exclusively by whoever places a hold, so a hold placed
# while a chunk runs applies from the next chunk on, never half-way through one.
HOLDS_LOCK_KEY = 7_331_002

# SEC Rule 17a-4 minimums (migrations 0006 and 0018 seed these periods): a policy may be lengthened, never
# shortened below them.
REGULATORY_MINIMUM_YEARS = {
    "records.trade": 6, "records.tradeversion": 6, "records.tradeevent": 6, "records.position": 6,
    "records.stockmovement": 6, "records.cashmovement": 6, "records.cashbalance": 6, "records.auditrecord": 6,
    "records.account": 6, "records.price": 3, "records.fxrate": 3, "records.changerequest": 3,
    "records.instrument": 3, "records.counterparty": 3, "records.tradefile": 3,
}


# Policies and cutoffs ---------------------------------------------------------------------------

def retention_policy_get(record_type: str) -> RetentionPolicy:
    policy = RetentionPolicy.objects.filter(record_type=record_type).first()
    if policy is None:
        raise BusinessRuleError(f"No retention policy for {record_type}: nothing of it is purged.",
                                field="record_type")
    return policy


def retention_cutoff(record_type: str, today: date) -> date:
    """Return the first date still retained for record_type: records dated before it are past retention."""
    return years_before(today, retention_policy_get(record_type).retention_years)


@transaction.atomic
def retention_policy_update(*, actor: Actor, policy: RetentionPolicy, retention_years: int, rule: str | None = None,
                            reason: str) -> RetentionPolicy:
    """Change a policy's period (and rule text). Never below the regulatory minimum of its type."""
    if not (reason or "").strip():
        raise BusinessRuleError("Say why the retention period changes.", field="reason")
    minimum = REGULATORY_MINIMUM_YEARS.get(policy.record_type, 1)
    if retention_years is None or retention_years < minimum:
        raise BusinessRuleError(f"{policy.record_type} must be kept at least {minimum} year{'s' * (minimum > 1)} "
                                "(SEC Rule 17a-4).", field="retention_years")
    policy = RetentionPolicy.objects.select_for_update().get(pk=policy.pk)
    before = snapshot(policy)
    policy.retention_years = retention_years
    if rule is not None:
        policy.rule = rule
    if snapshot(policy) == before:
        return policy
    policy.save(update_fields=["retention_years", "rule", "updated_at"])
    audit_log(actor=actor, action="UPDATE", instance=policy, before=before, after=snapshot(policy), reason=reason)
    return policy


# Legal holds ------------------------------------------------------------------------------------

def _lock_holds(*, shared: bool) -> None:
    """Serialise hold placement against purge chunks. Call inside an atomic block."""
    function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s)", [HOLDS_LOCK_KEY])


def _person(actor: Actor):
    if actor is None or isinstance(actor, str) or not actor.is_authenticated:
        raise BusinessRuleError("Legal holds are placed and released by a signed-in person.")
    return actor


def _record_model(record_type: str) -> type[models.Model]:
    try:
        return apps.get_model(record_type)
    except (LookupError, ValueError):
        raise BusinessRuleError(f"Unknown record type {record_type!r} (app_label.model).",
                                field="record_type") from None


@transaction.atomic
def legal_hold_place(*, actor: Actor, scope: str, account: Account | None = None, instrument: Instrument | None = None,
                     record_type: str = "", record_id: str = "", reason: str, matter: str = "") -> LegalHold:
    """Place a legal hold: nothing it covers is purged until it is released."""
    user = _person(actor)
    if not (reason or "").strip():
        raise BusinessRuleError("Say why the records are held.", field="reason")
    record_type, record_id = (record_type or "").strip().lower(), str(record_id or "").strip()
    if scope == LegalHold.Scope.ACCOUNT:
        if account is None:
            raise BusinessRuleError("Name the account to hold.", field="account")
        instrument, record_type, record_id = None, "", ""
    elif scope == LegalHold.Scope.INSTRUMENT:
        if instrument is None:
            raise BusinessRuleError("Name the instrument to hold.", field="instrument")
        account, record_type, record_id = None, "", ""
    elif scope == LegalHold.Scope.RECORD:
        if not record_type:
            raise BusinessRuleError("Name the record type to hold (e.g. records.trade).", field="record_type")
        model = _record_model(record_type)
        pk = record_pk(model, record_id) if record_id else None
        if pk is None or not model._default_manager.filter(pk=pk).exists():
            raise BusinessRuleError(f"There is no {record_type} #{record_id or '?'} to hold.", field="record_id")
        account, instrument, record_id = None, None, str(pk)
    else:
        raise BusinessRuleError(f"Scope must be one of {', '.join(LegalHold.Scope.values)}.", field="scope")
    _lock_holds(shared=False)
    hold = LegalHold.objects.create(scope=scope, account=account, instrument=instrument, record_type=record_type,
                                    record_id=record_id, reason=reason.strip(), matter=(matter or "").strip(),
                                    placed_by=user, placed_at=timezone.now())
    audit_log(actor=actor, action="CREATE", instance=hold, after=snapshot(hold), reason=hold.reason)
    return hold


@transaction.atomic
def legal_hold_release(*, actor: Actor, hold_id: int, reason: str) -> LegalHold:
    """Release a hold; the row stays as the record of it. Releasing a released hold changes nothing."""
    user = _person(actor)
    if not (reason or "").strip():
        raise BusinessRuleError("Say why the hold is released.", field="reason")
    hold = LegalHold.objects.select_for_update().filter(pk=hold_id).first()
    if hold is None:
        raise BusinessRuleError(f"There is no legal hold #{hold_id}.", field="hold_id")
    if not hold.is_active:
        return hold
    before = snapshot(hold)
    hold.released_by, hold.released_at, hold.release_reason = user, timezone.now(), reason.strip()
    hold.save(update_fields=["released_by", "released_at", "release_reason"])
    audit_log(actor=actor, action="UPDATE", instance=hold, before=before, after=snapshot(hold),
              reason=hold.release_reason)
    return hold


def active_holds() -> ActiveHolds:
    rows = LegalHold.objects.filter(released_at__isnull=True).values_list("scope", "account_id", "instrument_id",
                                                                         "record_type", "record_id")
    accounts, instruments, records = set(), set(), {}
    for scope, account_id, instrument_id, record_type, record_id in rows:
        if scope == LegalHold.Scope.ACCOUNT:
            accounts.add(account_id)
        elif scope == LegalHold.Scope.INSTRUMENT:
            instruments.add(instrument_id)
        else:
            records.setdefault(record_type, set()).add(record_id)
    return ActiveHolds(frozenset(accounts), frozenset(instruments),
                       {record_type: frozenset(ids) for record_type, ids in records.items()})


# Tombstones -------------------------------------------------------------------------------------

def id_ranges(ids: Iterable[int]) -> list[list[int]]:
    """Compress sorted ids to [first, last] runs: [1, 2, 3, 7] -> [[1, 3], [7, 7]]."""
    runs: list[list[int]] = []
    for pk in ids:
        if runs and pk == runs[-1][1] + 1:
            runs[-1][1] = pk
        else:
            runs.append([pk, pk])
    return runs


def ids_digest(ids: Iterable) -> str:
    """SHA-256 of the sorted ids, comma-separated: what an auditor recomputes from a list of ids."""
    return hashlib.sha256(",".join(str(pk) for pk in sorted(ids)).encode()).hexdigest()


def _tombstone(*, actor: Actor, record_type: str, ids: list, deleted: dict[str, int], cutoff: date, as_of: date,
               policy: RetentionPolicy, extra: dict | None = None) -> AuditRecord:
    """Write the signed record of one purged chunk. Call inside the chunk's transaction."""
    numeric = all(isinstance(pk, int) for pk in ids)
    content = {
        "record_type": record_type, "count": len(ids), "first_id": ids[0], "last_id": ids[-1],
        "ids": id_ranges(ids) if numeric else [str(pk) for pk in ids], "ids_format": "ranges" if numeric else "list",
        "ids_sha256": ids_digest(ids), "deleted": deleted, "cutoff": cutoff.isoformat(), "as_of": as_of.isoformat(),
        "policy": {"record_type": policy.record_type, "retention_years": policy.retention_years, "rule": policy.rule},
        **(extra or {}),
    }
    content["signature"] = sign(content)
    return audit_log(actor=actor, action=PURGE_ACTION, record_type=record_type, record_id=f"{ids[0]}-{ids[-1]}",
                     after=content,
                     reason=f"retention: past {policy.retention_years} years (before {cutoff.isoformat()})")


def tombstone_ids(record: AuditRecord) -> list:
    """Return the ids a tombstone says were purged."""
    content = record.after or {}
    if content.get("ids_format") == "ranges":
        return [pk for first, last in content["ids"] for pk in range(first, last + 1)]
    return list(content.get("ids", []))


# The purge --------------------------------------------------------------------------------------

@dataclass
class PurgeResult:
    record_type: str
    as_of: date  # the date the cutoff is counted back from: min(as_of, today)
    cutoff: date  # records dated before this were past retention
    retention_years: int
    dry_run: bool
    purged: int = 0  # rows of record_type removed (or, in a dry run, that would be)
    deleted: dict[str, int] = field(default_factory=dict)  # per model, dependents included
    chunks: int = 0
    tombstone_ids: list[int] = field(default_factory=list)

    def add(self, deleted: dict[str, int], tombstone: AuditRecord) -> None:
        self.chunks += 1
        self.purged += deleted.get(self.record_type, 0)
        for label, count in deleted.items():
            self.deleted[label] = self.deleted.get(label, 0) + count
        self.tombstone_ids.append(tombstone.pk)


def purge_run(*, actor: Actor = PURGE_ACTOR, record_type: str, as_of: date | None = None, dry_run: bool = False,
              chunk_size: int = 5000) -> PurgeResult:
    """Remove the records of record_type past retention, in a final state and not held. Idempotent.

    as_of can only make the cutoff earlier: it is clamped to today. Each chunk of at most
    chunk_size rows is its own transaction with its own signed tombstone.
    """
    spec = PURGE_REGISTRY.get(record_type)
    if spec is None:
        raise BusinessRuleError(f"{record_type} cannot be purged (purgeable: {', '.join(sorted(PURGE_REGISTRY))}).",
                                field="record_type")
    if chunk_size < 1:
        raise BusinessRuleError("Must be at least 1.", field="chunk_size")
    today = timezone.localdate()
    effective = today if as_of is None else min(as_of, today)
    policy = retention_policy_get(record_type)
    result = PurgeResult(record_type=record_type, as_of=effective,
                         cutoff=years_before(effective, policy.retention_years),
                         retention_years=policy.retention_years, dry_run=dry_run)
    if record_type == AUDIT_RECORD_TYPE:
        return _purge_audit_trail(actor=actor, policy=policy, result=result)
    if dry_run:
        result.purged = spec.eligible(cutoff=result.cutoff, holds=active_holds()).count()
        return result
    while True:
        try:
            with transaction.atomic():
                _lock_holds(shared=True)
                rows = (spec.eligible(cutoff=result.cutoff, holds=active_holds()).order_by("pk")
                        .select_for_update(skip_locked=True, of=("self",)))
                candidates = list((rows.values_list("pk", spec.rows_field) if spec.rows_field
                                   else rows.values_list("pk", flat=True))[:chunk_size])
                if not candidates:
                    return result
                # A chunk bounded by the rows its records take with them may stop short of chunk_size; the
                # candidates it leaves are unlocked at commit and picked by the next chunk.
                ids = spec.chunk_cut(candidates)
                deleted = spec.delete(ids)
                tombstone = _tombstone(actor=actor, record_type=record_type, ids=ids, deleted=deleted,
                                       cutoff=result.cutoff, as_of=effective, policy=policy)
        except (ProtectedError, RestrictedError) as exc:
            raise BusinessRuleError(f"{record_type} rows past retention are still referenced by other records "
                                    f"({exc.args[0]}); register those as dependents of the purge.") from exc
        result.add(deleted, tombstone)
        if len(candidates) < chunk_size and len(ids) == len(candidates):
            return result


def purge_all(*, actor: Actor = PURGE_ACTOR, as_of: date | None = None, dry_run: bool = False,
              chunk_size: int = 5000) -> list[PurgeResult]:
    """Run the purge for every registered record type, the audit trail last."""
    order = sorted(PURGE_REGISTRY, key=lambda record_type: (record_type == AUDIT_RECORD_TYPE, record_type))
    return [purge_run(actor=actor, record_type=record_type, as_of=as_of, dry_run=dry_run, chunk_size=chunk_size)
            for record_type in order]


# The audit trail --------------------------------------------------------------------------------

@contextlib.contextmanager
def audit_maintenance() -> Iterator[None]:
    """Let this transaction delete audit records and seals and mark blocks pruned; for the purge only.

    Call inside an atomic block. Opens both locks: the PostgreSQL triggers (a transaction-local
    setting) and the append-only querysets (records.audit.models._maintenance).
    """
    if not connection.in_atomic_block:
        raise RuntimeError("audit maintenance must run inside the purge's transaction")

    def setting(value: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('backoffice.audit_maintenance', %s, true)", [value])

    setting("on")
    _maintenance.active = True
    try:
        yield
    finally:
        _maintenance.active = False
        setting("off")


def _audit_held(holds: ActiveHolds) -> Q | None:
    """Audit records about anything a hold protects: the held record, account or instrument, and the
    rows of every purgeable type that the account or instrument hold covers."""
    conditions = [Q(record_type=record_type, record_id__in=sorted(ids)) for record_type, ids in holds.records.items()]
    for targets, target_type, attr in ((holds.accounts, "records.account", "account_field"),
                                       (holds.instruments, "records.instrument", "instrument_field")):
        if not targets:
            continue
        conditions.append(Q(record_type=target_type, record_id__in=[str(pk) for pk in sorted(targets)]))
        for spec in PURGE_REGISTRY.values():
            column = getattr(spec, attr)
            if column:
                about = (spec.model._default_manager.filter(**{f"{column}__in": sorted(targets)})
                         .annotate(record_key=Cast("pk", CharField())).values("record_key"))
                conditions.append(Q(record_type=spec.record_type, record_id__in=about))
    return any_of(conditions)


def audit_blocks_purgeable(*, cutoff: date, holds: ActiveHolds) -> models.QuerySet:
    """Sealed, unpruned blocks whose every record is dated before cutoff and none is held."""
    members = AuditRecord.objects.filter(seal__block=OuterRef("pk"))
    blocks = (AuditBlock.objects.filter(pruned_at__isnull=True).filter(Exists(members))
              .exclude(Exists(members.filter(at__gte=start_of_day(cutoff)))))
    held = _audit_held(holds)
    if held is not None:
        blocks = blocks.exclude(Exists(members.filter(held)))
    return blocks.order_by("pk")


def audit_block_purge(*, block_id: int) -> tuple[list[int], int]:
    """Delete a sealed block's records and seals and mark the block pruned once none is left.

    Returns (the purged record ids, sorted; the seals removed). The caller has checked the block is
    purgeable, holds its row lock, and is inside the transaction that writes the tombstone.
    """
    seals = AuditSeal.objects.filter(block_id=block_id)
    ids = list(seals.order_by("record_id").values_list("record_id", flat=True))
    with audit_maintenance():
        AuditRecord.objects.filter(pk__in=seals.values("record_id")).delete()
        if AuditRecord.objects.filter(pk__in=seals.values("record_id")).exists():
            raise RuntimeError(f"audit block {block_id}: records left after the purge")
        seal_count, _ = seals.delete()
        AuditBlock.objects.filter(pk=block_id, pruned_at__isnull=True).update(pruned_at=timezone.now())
    return ids, seal_count


def _purge_audit_trail(*, actor: Actor, policy: RetentionPolicy, result: PurgeResult) -> PurgeResult:
    if result.dry_run:
        blocks = audit_blocks_purgeable(cutoff=result.cutoff, holds=active_holds())
        result.purged = AuditSeal.objects.filter(block__in=blocks).count()
        return result
    while True:
        with transaction.atomic():
            _lock_holds(shared=True)
            block = (audit_blocks_purgeable(cutoff=result.cutoff, holds=active_holds())
                     .select_for_update(skip_locked=True, of=("self",)).first())
            if block is None:
                return result
            ids, seals = audit_block_purge(block_id=block.pk)
            deleted = {AUDIT_RECORD_TYPE: len(ids), "records.auditseal": seals}
            tombstone = _tombstone(actor=actor, record_type=AUDIT_RECORD_TYPE, ids=ids, deleted=deleted,
                                   cutoff=result.cutoff, as_of=result.as_of, policy=policy,
                                   extra={"block_id": block.pk, "block_hash": block.hash})
        result.add(deleted, tombstone)
