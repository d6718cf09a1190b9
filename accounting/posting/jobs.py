"""Job kinds of accounting's posting (loaded by AccountingConfig.ready): see accounting/posting/services.py."""

from datetime import date

from accounting.posting.services import (
    EOD,
    MARK_TO_MARKET,
    POSTING,
    account_ranges,
    posting_fx_revaluation,
    posting_mark_to_market,
    posting_parameters,
    posting_post,
    valuation_parameters,
)
from backoffice.core.jobs.registry import JobKind, Step, job_kind_register


def _post(job, index: int) -> dict:
    return posting_post(job=job, index=index)


def _mark(job, index: int) -> dict:
    return posting_mark_to_market(job=job, index=index)


def _revalue(job, index: int) -> dict:
    return posting_fx_revaluation(job=job, index=index)


def _reconcile(job, index: int) -> dict:
    from accounting.reconciliation.services import reconciliation_reconcile

    run = reconciliation_reconcile(job=job, as_of=date.fromisoformat(job.parameters["as_of"]))
    return {"rows": run.breaks, "step": "reconcile", "reconciliation": run.pk, "breaks": run.breaks,
            "positions_checked": run.positions_checked, "balances_checked": run.balances_checked}


def _posting_plan(parameters: dict) -> list[Step]:
    return [Step("post", len(account_ranges(parameters)), _post)]


def _valuation_plan(parameters: dict) -> list[Step]:
    chunks = len(account_ranges(parameters))
    return [Step("post", chunks, _post), Step("mark-to-market", chunks, _mark),
            Step("fx-revaluation", chunks, _revalue)]


def _eod_plan(parameters: dict) -> list[Step]:
    return [*_valuation_plan(parameters), Step("reconcile", 1, _reconcile)]


job_kind_register(JobKind(POSTING, "Accounting: posting", _posting_plan, posting_parameters))
job_kind_register(JobKind(MARK_TO_MARKET, "Accounting: mark to market", _valuation_plan, valuation_parameters))
job_kind_register(JobKind(EOD, "Accounting: end of day (post, mark to market, FX, reconcile)", _eod_plan,
                          valuation_parameters))
