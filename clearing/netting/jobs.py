"""Job kinds of clearing's netting, registered with the kernel's job framework (loaded by ClearingConfig.ready).

clearing-netting: step "net", one chunk per instrument range of the run's parameters
(instrument_bounds, fixed when the run is created, so a resumed run redoes exactly the chunks
that did not commit), then step "summarize", one chunk writing the run's figures. Parameters:
settlement_date (YYYY-MM-DD, a settlement day of some market), and optionally trades_per_chunk
(how the bounds are cut) or instrument_bounds itself. See clearing/netting/services.py.
"""

from backoffice.core.jobs.registry import JobKind, Step, job_kind_register
from clearing.netting.services import (
    NETTING,
    clearing_run_net,
    clearing_run_summarize,
    instrument_ranges,
    netting_parameters,
)


def _net(job, index: int) -> dict:
    return clearing_run_net(job=job, index=index)


def _summarize(job, index: int) -> dict:
    return clearing_run_summarize(job=job)


def _plan(parameters: dict) -> list[Step]:
    # Atomic chunks: each range's trades, obligations, links, events and audit records commit with
    # the chunk's completion row, or not at all.
    return [Step("net", len(instrument_ranges(parameters)), _net), Step("summarize", 1, _summarize)]


job_kind_register(JobKind(NETTING, "Clearing: netting run", _plan, netting_parameters))
