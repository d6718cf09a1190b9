"""Job kinds of settlements' fails, registered with the job framework by SettlementsConfig.ready.

fail-penalties: step "regsho" (one chunk: Reg SHO basis and close-out deadline of the fails to
deliver that lack them), then step "accrue", one chunk per range of fail ids fixed when the run is
created (fail_bounds), each accruing the date's CSDR penalties of its fails in one statement.
Parameters: date (YYYY-MM-DD, today or earlier, a settlement day of some market). See
settlements/fails/services.py.

settlement_run_steps: the same two steps appended to a settlement run (settings.JOB_STEP_EXTENSIONS
["settlement-run"]): the Reg SHO deadlines of the fails the run has just opened, and the penalties of
the settlement day before the run's date, which is over by then.
"""

from backoffice.core.fields import parse_date
from backoffice.core.jobs.registry import JobKind, Step, job_kind_register
from settlements.fails import services
from settlements.fails.services import FAIL_PENALTIES


def _actor(job):
    return job.started_by if job.started_by_id else f"job:{job.kind}"


def _regsho(job, index: int) -> dict:
    return services.fail_regsho_fill(as_of=parse_date(job.parameters["date"]), actor=_actor(job))


def _accrue(job, index: int) -> dict:
    low, high = services.fail_ranges(job.parameters)[index]
    return services.fail_penalties_accrue(penalty_date=parse_date(job.parameters["date"]), actor=_actor(job),
                                          low=low, high=high)


def _plan(parameters: dict) -> list[Step]:
    # Atomic chunks: a chunk's penalties and their audit records commit with its completion row.
    return [Step("regsho", 1, _regsho), Step("accrue", len(services.fail_ranges(parameters)), _accrue)]


def _run_regsho(job, index: int) -> dict:
    return services.fail_regsho_fill(as_of=parse_date(job.parameters["settlement_date"]), actor=_actor(job))


def _run_accrue(job, index: int) -> dict:
    day = services.previous_penalty_day(parse_date(job.parameters["settlement_date"]))
    return services.fail_penalties_accrue(penalty_date=day, actor=_actor(job))


def settlement_run_steps(parameters: dict) -> list[Step]:
    """The steps a settlement run ends with (JOB_STEP_EXTENSIONS): Reg SHO deadlines of its fails and the
    penalties of the previous settlement day (of any market), whose fails are final by then.

    One chunk each, all fails: the run's fails are created by its own steps, after this plan is fixed.
    """
    return [Step("fail-regsho", 1, _run_regsho), Step("fail-penalties", 1, _run_accrue)]


job_kind_register(JobKind(FAIL_PENALTIES, "Settlements: fail penalties and Reg SHO deadlines", _plan,
                          services.fail_penalties_parameters))
