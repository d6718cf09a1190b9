"""The tamper-evident audit trail: sealed blocks of records chained by SHA-256.

Why blocks rather than a chain through every record: linking each record to its predecessor
at write time means every writer in the firm (trade capture, batch jobs, the admin) must take
one global lock to read the previous hash, so the busiest table serialises all writes. Instead:

* each audit record gets its own content hash as it is written (``audit.hash_fields``), no lock;
* a sealing job takes the committed records not yet sealed, in id order, and appends one block
  whose hash covers (id, content hash) of every member and the previous block's hash. Only the
  sealers serialise (an advisory lock), and they are few and quick. Membership is an explicit
  append-only table (AuditSeal), so a transaction that commits late with a low id simply lands
  in the next block, and nothing ever rewrites a record;
* PostgreSQL refuses UPDATE and DELETE on the records, seals and blocks (migration 0006); the
  append-only models (records, seals, verifications) refuse them in the application too.

Verification recomputes every record's content hash, every block's member digest and header
hash and the chain of blocks, and reports the first broken link: an edited record (content hash
mismatch), a deleted one (member digest and count mismatch), an inserted one (extra member, or
an unsealed record dated before the last seal), an altered or removed block (chain mismatch).
A record is only as safe as its seal: the seal job runs every few seconds (beat, AUDIT_SEAL_SECONDS)
and on demand (`verify_audit --seal`), so the unsealed tail is short.
"""

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from backoffice.core.bulk import insert_rows
from backoffice.core.canonical import canonical_json_bytes
from records.audit.models import AuditBlock, AuditRecord, AuditSeal, AuditVerification
from records.audit.services.audit import Actor, actor_fields, audit_log, content_hash, snapshot

GENESIS = "0" * 64
SEAL_LOCK_KEY = 7_331_001  # pg_advisory_xact_lock key of the sealers
MAX_BLOCK = 50_000
# A transaction that wrote an audit record commits within this time; an unsealed record dated
# earlier than the last seal minus this grace was put there behind the seal's back.
LATE_COMMIT_GRACE = timedelta(minutes=15)


def members_digest(members: list[tuple[int, str]]) -> str:
    """SHA-256 over (record id, content hash) of a block's members, in id order."""
    digest = hashlib.sha256()
    for record_id, record_hash in members:
        digest.update(f"{record_id}:{record_hash}\n".encode())
    return digest.hexdigest()


def block_hash(*, first_record_id, last_record_id, record_count, records_hash, prev_hash, sealed_at) -> str:
    """SHA-256 of a block header in canonical JSON (keys sorted, no spaces, UTC microseconds)."""
    header = {
        "first_record_id": first_record_id, "last_record_id": last_record_id, "record_count": record_count,
        "records_hash": records_hash, "prev_hash": prev_hash,
        "sealed_at": sealed_at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
    }
    # Every value of the header is ASCII (ids, counts, hex digests, an ISO timestamp), so these are the
    # bytes the chain was sealed with when this used json.dumps's default ASCII escaping.
    return hashlib.sha256(canonical_json_bytes(header)).hexdigest()


def _lock_sealers() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SEAL_LOCK_KEY])


def audit_seal(*, sealed_by: str = "job:audit-seal", max_records: int = MAX_BLOCK) -> list[AuditBlock]:
    """Seal every committed, unsealed audit record into blocks of at most max_records. Idempotent."""
    blocks = []
    while True:
        with transaction.atomic():
            _lock_sealers()
            members = list(AuditRecord.objects.filter(seal__isnull=True).order_by("id")
                           .values_list("id", "content_hash")[:max_records])
            if not members:
                return blocks
            last = AuditBlock.objects.order_by("-id").first()
            sealed_at = timezone.now()
            header = {"first_record_id": members[0][0], "last_record_id": members[-1][0],
                      "record_count": len(members), "records_hash": members_digest(members),
                      "prev_hash": last.hash if last else GENESIS}
            block = AuditBlock.objects.create(sealed_at=sealed_at, sealed_by=sealed_by,
                                              hash=block_hash(**header, sealed_at=sealed_at), **header)
            insert_rows(AuditSeal, ("record_id", "block_id"), [(record_id, block.pk) for record_id, _ in members])
            blocks.append(block)
        if len(members) < max_records:
            return blocks


@dataclass
class VerifyResult:
    ok: bool = True
    records_checked: int = 0
    blocks_checked: int = 0
    unsealed: int = 0
    first_broken: dict | None = None
    problems: list = field(default_factory=list)

    def broken(self, **problem) -> None:
        self.ok = False
        if self.first_broken is None:
            self.first_broken = problem
        if len(self.problems) < 20:
            self.problems.append(problem)

    def as_dict(self) -> dict:
        return {"ok": self.ok, "records_checked": self.records_checked, "blocks_checked": self.blocks_checked,
                "unsealed": self.unsealed, "first_broken": self.first_broken, "problems": self.problems}


_FIELDS = ("id", "at", "actor_id", "actor_label", "action", "record_type", "record_id", "before", "after", "reason",
           "correlation_id", "content_hash")


def _check_record(result: VerifyResult, record: AuditRecord, *, block_id=None) -> str:
    """Recompute a record's content hash; report it when it differs from the stored one."""
    recomputed = content_hash(record)
    result.records_checked += 1
    if recomputed != record.content_hash:
        result.broken(problem="record altered", record_id=record.pk, block_id=block_id,
                      detail="content hash does not match the record's content")
    return recomputed


def audit_verify() -> VerifyResult:
    """Recompute the whole chain and every record; return what is broken (first broken link first)."""
    result = VerifyResult()
    prev = GENESIS
    for block in AuditBlock.objects.order_by("id").iterator(chunk_size=500):
        result.blocks_checked += 1
        header = {"first_record_id": block.first_record_id, "last_record_id": block.last_record_id,
                  "record_count": block.record_count, "records_hash": block.records_hash, "prev_hash": block.prev_hash}
        if block.prev_hash != prev:
            result.broken(problem="chain broken", block_id=block.pk,
                          detail="the block does not follow the previous block (a block was removed or altered)")
        if block_hash(**header, sealed_at=block.sealed_at) != block.hash:
            result.broken(problem="block altered", block_id=block.pk, detail="block header does not match its hash")
        prev = block.hash
        if block.pruned_at is not None:
            continue  # members purged under retention; the header still chains
        members = []
        records = (AuditRecord.objects.filter(seal__block_id=block.pk).order_by("id").only(*_FIELDS)
                   .iterator(chunk_size=5000))
        for record in records:
            members.append((record.pk, _check_record(result, record, block_id=block.pk)))
        seal_count = AuditSeal.objects.filter(block_id=block.pk).count()
        if len(members) != block.record_count or seal_count != block.record_count:
            result.broken(problem="records missing" if len(members) < block.record_count else "records inserted",
                          block_id=block.pk, detail=f"block sealed {block.record_count} records; "
                          f"{len(members)} found, {seal_count} seals")
        elif members_digest(members) != block.records_hash:
            result.broken(problem="records replaced", block_id=block.pk,
                          detail="the block's records are not the ones it sealed")
    last_seal = AuditBlock.objects.order_by("-id").values_list("sealed_at", flat=True).first()
    for record in AuditRecord.objects.filter(seal__isnull=True).order_by("id").only(*_FIELDS).iterator(chunk_size=5000):
        result.unsealed += 1
        _check_record(result, record)
        if last_seal is not None and record.at < last_seal - LATE_COMMIT_GRACE:
            result.broken(problem="record inserted", record_id=record.pk,
                          detail="an unsealed record dated before the last seal: written behind the chain")
    return result


def audit_verification_run(*, actor: Actor) -> AuditVerification:
    """Verify the whole chain (see audit_verify) and keep the result, audited. Safe to rerun."""
    started_at = timezone.now()
    result = audit_verify()
    with transaction.atomic():
        verification = AuditVerification.objects.create(
            started_at=started_at, finished_at=timezone.now(), requested_by=actor_fields(actor)[1], ok=result.ok,
            records_checked=result.records_checked, blocks_checked=result.blocks_checked, unsealed=result.unsealed,
            first_broken=_json_ready(result.first_broken), problems=_json_ready(result.problems))
        audit_log(actor=actor, action="CREATE", instance=verification, after=snapshot(verification),
                  reason="audit chain verified" if result.ok else "audit chain BROKEN")
    return verification


def _json_ready(value):
    return json.loads(json.dumps(value, default=str))
