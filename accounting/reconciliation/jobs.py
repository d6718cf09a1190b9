"""Job kinds of accounting's reconciliation (loaded by AccountingConfig.ready).

accounting-reconciliation: step "reconcile", one chunk: the ledger against the stock record and the
cash balances as of a date, in two set-based statements (accounting/reconciliation/services.py).
Parameters: as_of (YYYY-MM-DD, today or earlier; default today). The chunk's result, kept as the
job's result, names the run and its counts.
"""

from accounting.reconciliation.selectors import RECONCILIATION
from accounting.reconciliation.services import reconciliation_parameters, reconciliation_reconcile
from backoffice.core.fields import parse_date
from backoffice.core.jobs.registry import JobKind, Step, job_kind_register

STEP = "reconcile"


def _reconcile(job, index: int) -> dict:
    run = reconciliation_reconcile(job=job, as_of=parse_date(job.parameters["as_of"]))
    return {"rows": run.breaks, "reconciliation_run": run.pk, "as_of": run.as_of.isoformat(),
            "positions_checked": run.positions_checked, "balances_checked": run.balances_checked,
            "breaks": run.breaks}


def _plan(parameters: dict) -> list[Step]:
    # One atomic chunk: the run, its breaks and their audit records commit with the completion row.
    return [Step(STEP, 1, _reconcile)]


job_kind_register(JobKind(RECONCILIATION, "Accounting: reconciliation to the stock record and cash", _plan,
                          reconciliation_parameters))
