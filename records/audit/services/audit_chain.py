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
One block is checked by one function (_check_block) whichever way the blocks are walked: all at
once (audit_verify), a range at a time (audit_verify_blocks, the chunks of the audit-verify job),
or only those sealed since the last kept verification (audit_verify_incremental, the API's GET).
A record is only as safe as its seal: the seal job runs every few seconds (beat, AUDIT_SEAL_SECONDS)
and on demand (`verify_audit --seal`), so the unsealed tail is short.
"""

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import Max, Min, Q, Sum
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


MAX_PROBLEMS = 20  # problems kept per verification, the first one first


@dataclass
class VerifyResult:
    """What a verification found. Parts (block ranges, the unsealed tail) combine in order with extend()."""

    ok: bool = True
    records_checked: int = 0
    blocks_checked: int = 0
    unsealed: int = 0
    first_broken: dict | None = None
    problems: list = field(default_factory=list)
    scope: str = AuditVerification.Scope.FULL
    # An incremental verification continues after this block (the anchor); None for a full one.
    from_block: int | None = None
    # The last block checked and the hash it had: the next incremental verification's anchor.
    through_block_id: int | None = None
    through_hash: str = ""

    def broken(self, **problem) -> None:
        self.ok = False
        if self.first_broken is None:
            self.first_broken = problem
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)

    def extend(self, part: "VerifyResult") -> "VerifyResult":
        """Add what a later part of the same verification found (its problems come after ours)."""
        self.ok = self.ok and part.ok
        self.records_checked += part.records_checked
        self.blocks_checked += part.blocks_checked
        self.unsealed += part.unsealed
        self.first_broken = self.first_broken or part.first_broken
        self.problems = (self.problems + part.problems)[:MAX_PROBLEMS]
        if part.through_block_id is not None:
            self.through_block_id, self.through_hash = part.through_block_id, part.through_hash
        return self

    def as_dict(self) -> dict:
        return {"ok": self.ok, "records_checked": self.records_checked, "blocks_checked": self.blocks_checked,
                "unsealed": self.unsealed, "first_broken": self.first_broken, "problems": self.problems,
                "scope": str(self.scope), "from_block": self.from_block}

    def as_json(self) -> dict:
        """Every field, JSON-ready (a job chunk's result); from_json() reads it back."""
        return _json_ready({name: getattr(self, name) for name in self.__dataclass_fields__})

    @classmethod
    def from_json(cls, data: dict) -> "VerifyResult":
        return cls(**{name: data[name] for name in cls.__dataclass_fields__ if name in data})


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


def _header_hash(block: AuditBlock) -> str:
    return block_hash(first_record_id=block.first_record_id, last_record_id=block.last_record_id,
                      record_count=block.record_count, records_hash=block.records_hash, prev_hash=block.prev_hash,
                      sealed_at=block.sealed_at)


def _check_block(result: VerifyResult, block: AuditBlock, prev_hash: str) -> None:
    """Check one block: its link to prev_hash, its header hash, and (unless pruned) its members."""
    result.blocks_checked += 1
    if block.prev_hash != prev_hash:
        result.broken(problem="chain broken", block_id=block.pk,
                      detail="the block does not follow the previous block (a block was removed or altered)")
    if _header_hash(block) != block.hash:
        result.broken(problem="block altered", block_id=block.pk, detail="block header does not match its hash")
    if block.pruned_at is not None:
        return  # members purged under retention; the header still chains
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


def audit_verify_blocks(*, first_block: int | None = None, last_block: int | None = None,
                        prev_hash: str | None = None) -> VerifyResult:
    """Verify the sealed blocks with ids first_block through last_block (open ends when None), in id order.

    The first block must follow prev_hash; by default the hash of the block just before the range
    (the genesis hash when there is none), so consecutive ranges verify exactly as one would.
    """
    blocks = AuditBlock.objects.order_by("id")
    if first_block is not None:
        blocks = blocks.filter(id__gte=first_block)
    if last_block is not None:
        blocks = blocks.filter(id__lte=last_block)
    if prev_hash is None:
        before = AuditBlock.objects.filter(id__lt=first_block) if first_block is not None else AuditBlock.objects.none()
        prev_hash = before.order_by("-id").values_list("hash", flat=True).first() or GENESIS
    result = VerifyResult()
    for block in blocks.iterator(chunk_size=500):
        _check_block(result, block, prev_hash)
        prev_hash = block.hash
        result.through_block_id, result.through_hash = block.pk, block.hash
    return result


def audit_verify_tail(*, after_record: int | None = None) -> VerifyResult:
    """Verify the records not sealed yet: their content hashes, and none dated well before the last seal.

    after_record: only the unsealed records with a greater id (a range of the primary key instead of an
    anti-join over the whole trail).
    """
    result = VerifyResult()
    last_seal = AuditBlock.objects.order_by("-id").values_list("sealed_at", flat=True).first()
    unsealed = AuditRecord.objects.filter(seal__isnull=True)
    if after_record is not None:
        unsealed = unsealed.filter(id__gt=after_record)
    for record in unsealed.order_by("id").only(*_FIELDS).iterator(chunk_size=5000):
        result.unsealed += 1
        _check_record(result, record)
        if last_seal is not None and record.at < last_seal - LATE_COMMIT_GRACE:
            result.broken(problem="record inserted", record_id=record.pk,
                          detail="an unsealed record dated before the last seal: written behind the chain")
    return result


def audit_verify() -> VerifyResult:
    """Recompute the whole chain and every record; return what is broken (first broken link first)."""
    return audit_verify_blocks().extend(audit_verify_tail())


def audit_block_span() -> tuple[int | None, int | None, int]:
    """The first and last block ids and the number of records still held in blocks (for planning a full run)."""
    span = AuditBlock.objects.aggregate(first=Min("id"), last=Max("id"),
                                        records=Sum("record_count", filter=Q(pruned_at=None)))
    return span["first"], span["last"], span["records"] or 0


def _anchor_check(result: VerifyResult, anchor: AuditVerification) -> None:
    """Check that the anchor block is still the one the anchor verification saw."""
    block = AuditBlock.objects.filter(pk=anchor.through_block_id).first()
    if block is None:
        detail = "the block the last verification ended at is gone"
    elif block.hash != anchor.through_hash:
        detail = "the block's hash is not the one the last verification saw"
    elif _header_hash(block) != block.hash and (anchor.ok or not _reported(anchor, "block altered", block.pk)):
        # A header the anchor verification already found altered is carried forward with its result.
        detail = "block header does not match its hash"
    else:
        return
    result.broken(problem="block altered after verification", block_id=anchor.through_block_id, detail=detail)


def _reported(verification: AuditVerification, problem: str, block_id: int) -> bool:
    return any(p.get("problem") == problem and p.get("block_id") == block_id for p in verification.problems or [])


def audit_verify_incremental(*, actor: Actor) -> VerifyResult:
    """Verify what was sealed since the last kept verification, and the unsealed tail; keep the result.

    Starts from the newest verification that checked a block (its anchor): the anchor block must
    still carry the hash it had, and a broken state found then stays broken. Then the blocks after
    it (chained from that hash) and the unsealed records are checked. The blocks up to the anchor
    are not recomputed: the nightly full verification does that. Without an anchor this is a full
    verification. Kept as an AuditVerification (audited) when it checked at least one block, so
    the anchor moves on; with nothing new sealed it writes nothing.

    The unsealed tail read is the one after the anchor block's last record (an index range, not an
    anti-join over the whole trail): an unsealed record below it is either a late commit, which the
    next seal puts in a block checked here next time, or one written behind the chain, which the
    full verification finds.
    """
    started_at = timezone.now()
    anchor = AuditVerification.objects.filter(through_block_id__isnull=False).order_by("-id").first()
    if anchor is None:
        result = audit_verify()
    else:
        result = VerifyResult(scope=AuditVerification.Scope.INCREMENTAL, from_block=anchor.through_block_id)
        if not anchor.ok:
            result.ok = False
            result.first_broken = anchor.first_broken
            result.problems = list(anchor.problems or [])[:MAX_PROBLEMS]
        _anchor_check(result, anchor)
        result.extend(audit_verify_blocks(first_block=anchor.through_block_id + 1, prev_hash=anchor.through_hash))
        anchor_end = AuditBlock.objects.filter(pk=anchor.through_block_id).values_list("last_record_id", flat=True)
        result.extend(audit_verify_tail(after_record=anchor_end.first()))
    if result.blocks_checked:
        audit_verification_record(result=result, actor=actor, started_at=started_at)
    return result


@transaction.atomic
def audit_verification_record(*, result: VerifyResult, actor: Actor,
                              started_at: dt.datetime | None = None) -> AuditVerification:
    """Keep a verification's result as an AuditVerification, audited; its last block is the next anchor."""
    incremental = result.scope == AuditVerification.Scope.INCREMENTAL
    verification = AuditVerification.objects.create(
        started_at=started_at or timezone.now(), finished_at=timezone.now(), requested_by=actor_fields(actor)[1],
        scope=result.scope, ok=result.ok, records_checked=result.records_checked,
        blocks_checked=result.blocks_checked, unsealed=result.unsealed, through_block_id=result.through_block_id,
        through_hash=result.through_hash, first_broken=_json_ready(result.first_broken),
        problems=_json_ready(result.problems))
    outcome = "verified" if result.ok else "BROKEN"
    audit_log(actor=actor, action="CREATE", instance=verification, after=snapshot(verification),
              reason=f"audit chain {outcome} after block {result.from_block}" if incremental
              else f"audit chain {outcome}")
    return verification


def audit_verification_run(*, actor: Actor) -> AuditVerification:
    """Verify the whole chain here and now (see audit_verify) and keep the result, audited. Safe to rerun."""
    started_at = timezone.now()
    return audit_verification_record(result=audit_verify(), actor=actor, started_at=started_at)


def _json_ready(value):
    return json.loads(json.dumps(value, default=str))
