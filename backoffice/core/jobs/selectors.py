"""Reads of the batch-job framework."""

from django.db.models import QuerySet

from backoffice.core.jobs.models import JobRun


def job_list(*, kind: str | None = None, status: str | None = None, ids: list[int] | None = None) -> QuerySet:
    """Return job runs, newest first, filtered by kind, status and ids when given."""
    runs = JobRun.objects.select_related("started_by").order_by("-created_at", "-id")
    if kind:
        runs = runs.filter(kind=kind)
    if status:
        runs = runs.filter(status=status)
    if ids is not None:
        runs = runs.filter(pk__in=ids)
    return runs


def job_get(*, job_id: int) -> JobRun | None:
    """Return the run, or None."""
    return job_list().filter(pk=job_id).first()
