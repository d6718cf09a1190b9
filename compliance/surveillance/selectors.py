"""Reads of the surveillance: its runs (job runs of kind compliance-surveillance) and their per-scenario counts."""

from datetime import date

from django.db.models import QuerySet

from backoffice.core.jobs.models import JobRun
from compliance.surveillance.kinds import SURVEILLANCE


def surveillance_run_list(*, trade_date: date | None = None, status: str | None = None) -> QuerySet[JobRun]:
    """The surveillance runs, newest first, optionally of one trade date or status."""
    runs = JobRun.objects.filter(kind=SURVEILLANCE).select_related("started_by").order_by("-created_at", "-id")
    if trade_date is not None:
        runs = runs.filter(parameters__trade_date=trade_date.isoformat())
    if status:
        runs = runs.filter(status=status)
    return runs


def surveillance_run_get(run_id) -> JobRun | None:
    try:
        return surveillance_run_list().filter(pk=int(run_id)).first()
    except (TypeError, ValueError):
        return None


def surveillance_run_scenarios(job: JobRun) -> list[dict]:
    """A run's per-scenario counts (its chunks' results, in step order): step, hits, raised, existing, seconds."""
    return [row for row in (job.result or []) if isinstance(row, dict) and "step" in row]


def surveillance_run_totals(job: JobRun) -> dict:
    """A run's hits, alerts raised and alerts already there, over its scenarios."""
    rows = surveillance_run_scenarios(job)
    return {key: sum(int(row.get(key, 0)) for row in rows) for key in ("hits", "raised", "existing")}
