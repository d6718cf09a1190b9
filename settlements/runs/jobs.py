"""Job kinds of settlements' runs, registered with the job framework by SettlementsConfig.ready.

settlement-run: step "settle", one chunk per account range of the run's parameters (account_bounds,
fixed when the run is created, so a resumed run redoes exactly the chunks that did not commit).
Parameters: settlement_date (YYYY-MM-DD, a settlement day of some market), and optionally
instructions_per_chunk (how the bounds are cut) or account_bounds itself. See
settlements/runs/services.py.

settlement-confirmations: no steps. The container of one day's instructions the depository
confirmed settled one at a time (instruction_settle_confirmed), so that their movements belong to a
run as a run's do.
"""

from backoffice.core.jobs.registry import JobKind, Step, job_kind_register
from settlements.runs.selectors import CONFIRMATIONS, SETTLEMENT_RUN
from settlements.runs.services import (
    STEP,
    account_ranges,
    confirmations_parameters,
    settlement_parameters,
    settlement_run_settle,
)


def _settle(job, index: int) -> dict:
    return settlement_run_settle(job=job, index=index)


def _plan(parameters: dict) -> list[Step]:
    # Atomic chunks: each account range's movements, positions, cash, trades, obligations, fails and
    # audit records commit with the chunk's completion row, or not at all.
    return [Step(STEP, len(account_ranges(parameters)), _settle)]


def _no_steps(parameters: dict) -> list[Step]:
    return []


job_kind_register(JobKind(SETTLEMENT_RUN, "Settlements: settlement run", _plan, settlement_parameters))
job_kind_register(JobKind(CONFIRMATIONS, "Settlements: settled as the depository confirmed", _no_steps,
                          confirmations_parameters))
