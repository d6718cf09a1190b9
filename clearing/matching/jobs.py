"""Job kinds of clearing's matching, registered with the kernel's job framework (loaded by ClearingConfig.ready).

clearing-match: match every open confirmation again (after a tolerance changed, a trade another
transaction held was skipped, a confirmation naming a trade of another instrument...). One step,
"match", one chunk per range of confirmation ids: the ranges are cut from the open confirmations'
ids when the run is created (first_id, last_id, ids_per_chunk), so a resumed run redoes exactly the
chunks that did not commit. Each chunk is one matching pass (clearing.matching.services.matching
.confirmations_match_range), idempotent: a confirmation whose state does not change is not written.
"""

from backoffice.core.exceptions import BusinessRuleError
from backoffice.core.jobs.registry import JobKind, Step, job_kind_register
from clearing.matching import selectors
from clearing.matching.services.matching import confirmations_match_range

MATCHING = "clearing-match"
IDS_PER_CHUNK = 5_000


def _whole_number(parameters: dict, name: str, *, minimum: int) -> int | None:
    value = parameters.get(name)
    if value in (None, ""):
        return None
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise BusinessRuleError(f"Give a whole number of at least {minimum}.", field=name)
    if int(value) < minimum:
        raise BusinessRuleError(f"Give a whole number of at least {minimum}.", field=name)
    return int(value)


def _parse(parameters: dict) -> dict:
    """Fix the ids to look at when the run is created: a retry or a rerun looks at the same ranges."""
    first_id = _whole_number(parameters, "first_id", minimum=1)
    last_id = _whole_number(parameters, "last_id", minimum=0)
    ids_per_chunk = _whole_number(parameters, "ids_per_chunk", minimum=1) or IDS_PER_CHUNK
    if first_id is None or last_id is None:
        low, high = selectors.open_confirmation_id_span()
        first_id = first_id if first_id is not None else (low or 1)
        last_id = last_id if last_id is not None else (high or 0)
    return {"first_id": first_id, "last_id": last_id, "ids_per_chunk": ids_per_chunk}


def id_ranges(parameters: dict) -> list[tuple[int, int]]:
    """The (first, last) confirmation ids of each chunk: a function of the parameters alone."""
    first, last, size = parameters["first_id"], parameters["last_id"], parameters["ids_per_chunk"]
    return [(low, min(low + size - 1, last)) for low in range(first, last + 1, size)]


def _match(job, index: int) -> dict:
    first, last = id_ranges(job.parameters)[index]
    outcome = confirmations_match_range(actor=job.started_by or f"job:{MATCHING}", first_id=first, last_id=last)
    return {**outcome.as_dict(), "ids": [first, last]}


def _plan(parameters: dict) -> list[Step]:
    # Atomic chunks: each range's confirmations, trades, events and audit records commit with the
    # chunk's completion row, or not at all.
    return [Step("match", len(id_ranges(parameters)), _match)]


job_kind_register(JobKind(MATCHING, "Clearing: confirmation matching", _plan, _parse))
