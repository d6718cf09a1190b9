"""The audit trail's batch job: verify the whole hash chain and keep the result (kind audit-verify).

The run's boundary is fixed when it is created (parse): the blocks first_block through
through_block, cut into ranges of blocks_per_chunk block ids. Step "verify" checks one range per
chunk (each range chains from the hash of the block just before it), step "tail" the records not
yet sealed, and step "record" combines the chunks' results in order into one and keeps it as a
FULL AuditVerification, audited. The ranges depend on the parameters alone, so a resumed run
redoes exactly the chunks that did not commit. Blocks sealed after the run was created are left
to the next verification (the anchor is through_block).
"""

from backoffice.core.exceptions import BusinessRuleError
from backoffice.core.jobs.registry import JobKind, Step, job_kind_register
from records.audit.services.audit_chain import (
    VerifyResult,
    audit_block_span,
    audit_verification_record,
    audit_verify_blocks,
    audit_verify_tail,
)

AUDIT_VERIFY = "audit-verify"
# A chunk aims at this many records (estimated from the trail's mean block size when the run is
# created), and never spans more block ids than MAX_BLOCKS_PER_CHUNK.
RECORDS_PER_CHUNK = 100_000
MAX_BLOCKS_PER_CHUNK = 1_000


def _positive_int(parameters: dict, name: str, *, minimum: int) -> int | None:
    value = parameters.get(name)
    if value in (None, ""):
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise BusinessRuleError(f"Give a whole number of at least {minimum}.", field=name)
    try:
        number = int(value)
    except ValueError:
        raise BusinessRuleError(f"Give a whole number of at least {minimum}.", field=name) from None
    if number < minimum:
        raise BusinessRuleError(f"Give a whole number of at least {minimum}.", field=name)
    return number


def _parse(parameters: dict) -> dict:
    """Fix the blocks to verify when the run is created: a retry or a rerun checks the same ones."""
    first_block = _positive_int(parameters, "first_block", minimum=1)
    through_block = _positive_int(parameters, "through_block", minimum=0)
    blocks_per_chunk = _positive_int(parameters, "blocks_per_chunk", minimum=1)
    if first_block is None or through_block is None or blocks_per_chunk is None:
        first, last, records = audit_block_span()
        if through_block is None:
            through_block = last or 0
        if first_block is None:
            first_block = min(first or 1, through_block or 1)
        if blocks_per_chunk is None:
            blocks = max(1, (last or 0) - (first or 1) + 1)
            blocks_per_chunk = RECORDS_PER_CHUNK * blocks // max(records, 1)
    blocks_per_chunk = max(1, min(blocks_per_chunk, MAX_BLOCKS_PER_CHUNK))
    return {"first_block": first_block, "through_block": through_block, "blocks_per_chunk": blocks_per_chunk}


def block_ranges(parameters: dict) -> list[tuple[int, int]]:
    """The (first, last) block ids of each chunk of step verify: a function of the parameters alone."""
    first, through, size = parameters["first_block"], parameters["through_block"], parameters["blocks_per_chunk"]
    return [(low, min(low + size - 1, through)) for low in range(first, through + 1, size)]


def _verify(job, index: int) -> dict:
    first, last = block_ranges(job.parameters)[index]
    result = audit_verify_blocks(first_block=first, last_block=last)
    return {"rows": result.records_checked, "blocks": [first, last], **result.as_json()}


def _tail(job, index: int) -> dict:
    result = audit_verify_tail()
    return {"rows": result.records_checked, "tail": True, **result.as_json()}


def _record(job, index: int) -> dict:
    # The results of the earlier steps' chunks, in order; every one committed before this step runs.
    parts = {(step, n): part for step, n, part in job.chunks.filter(step__in=("verify", "tail"))
             .values_list("step", "index", "result")}
    expected = [("verify", n) for n in range(len(block_ranges(job.parameters)))] + [("tail", 0)]
    missing = [key for key in expected if key not in parts]
    if missing:
        raise RuntimeError(f"audit-verify run {job.pk} has no result for chunks {missing}")
    result = VerifyResult()
    for key in expected:
        result.extend(VerifyResult.from_json(parts[key]))
    verification = audit_verification_record(result=result, actor=job.started_by or f"job:{AUDIT_VERIFY}",
                                             started_at=job.started_at)
    return {"rows": 0, "verification_id": verification.pk, "ok": verification.ok,
            "records_checked": verification.records_checked, "blocks_checked": verification.blocks_checked,
            "unsealed": verification.unsealed, "through_block": verification.through_block_id,
            "first_broken": verification.first_broken}


def _plan(parameters: dict) -> list[Step]:
    # Atomic chunks: the verify and tail chunks only read, and each commits its result with its
    # completion row; the record chunk writes the verification and its audit record.
    return [Step("verify", len(block_ranges(parameters)), _verify), Step("tail", 1, _tail),
            Step("record", 1, _record)]


job_kind_register(JobKind(AUDIT_VERIFY, "Audit chain verification", _plan, _parse))
