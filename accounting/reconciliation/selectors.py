"""Reads of the reconciliation of the ledger to the stock record and the cash balances: runs and their breaks.

The dashboards and the API filter with keyword arguments already parsed (None: do not filter).
"""

from collections.abc import Iterator
from datetime import date

from django.db.models import Count, QuerySet

from accounting.models import ReconciliationBreak, ReconciliationRun
from backoffice.core.jobs.models import JobRun

# The job kind of a reconciliation run (accounting/reconciliation/jobs.py).
RECONCILIATION = "accounting-reconciliation"

# The CSV download of a run's breaks: header and the attribute path of each column.
BREAK_EXPORT_COLUMNS = [
    ("run", "run_id"), ("as_of", "run.as_of"), ("kind", "kind"), ("account", "account.code"),
    ("instrument", "instrument.isin"), ("currency", "currency"), ("ledger", "ledger"), ("records", "records"),
    ("difference", "difference"),
]


def reconciliation_run_list(*, as_of: date | None = None) -> QuerySet[ReconciliationRun]:
    """Return reconciliation runs, newest first, each with its job (status, who started it, when it ended)."""
    runs = ReconciliationRun.objects.select_related("job", "job__started_by").order_by("-id")
    if as_of:
        runs = runs.filter(as_of=as_of)
    return runs


def reconciliation_run_get(run_id: int) -> ReconciliationRun | None:
    return reconciliation_run_list().filter(pk=run_id).first()


def reconciliation_run_latest() -> ReconciliationRun | None:
    """Return the newest run, or None before the first."""
    return reconciliation_run_list().first()


def reconciliation_break_list(*, run: ReconciliationRun | int, kind: str | None = None,
                              account: str | None = None) -> QuerySet[ReconciliationBreak]:
    """Return a run's breaks, cash then securities, by account code and currency or ISIN; account is a code."""
    breaks = (ReconciliationBreak.objects.filter(run=run).select_related("run", "account", "instrument")
              .order_by("kind", "account__code", "instrument__isin", "currency", "id"))
    if kind:
        breaks = breaks.filter(kind=kind)
    if account:
        breaks = breaks.filter(account__code__iexact=account)
    return breaks


def reconciliation_break_counts(run: ReconciliationRun | int) -> dict[str, int]:
    """Return a run's breaks counted per kind, every kind named (0 when none)."""
    counts = dict(ReconciliationBreak.objects.filter(run=run).order_by().values("kind")
                  .annotate(n=Count("id")).values_list("kind", "n"))
    return {kind: counts.get(kind, 0) for kind in ReconciliationBreak.Kind.values}


def reconciliation_break_export_rows(breaks: QuerySet[ReconciliationBreak]) -> Iterator[tuple]:
    """Yield the rows of the CSV download (BREAK_EXPORT_COLUMNS), reading in chunks."""
    for row in breaks.iterator(chunk_size=2000):
        yield (row.run_id, row.run.as_of, row.kind, row.account.code, row.instrument.isin if row.instrument else "",
               row.currency, row.ledger, row.records, row.difference)


def reconciliation_jobs_unfinished() -> QuerySet[JobRun]:
    """Return the reconciliation jobs queued or running (their run is written when they finish), newest first."""
    return (JobRun.objects.filter(kind=RECONCILIATION, status__in=(JobRun.Status.QUEUED, JobRun.Status.RUNNING))
            .order_by("-id"))


def reconciliation_job_failed_last() -> JobRun | None:
    """Return the newest reconciliation job if it failed (nothing newer has succeeded or started since)."""
    job = JobRun.objects.filter(kind=RECONCILIATION).order_by("-id").first()
    return job if job is not None and job.status == JobRun.Status.FAILED else None
