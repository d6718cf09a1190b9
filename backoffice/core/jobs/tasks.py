"""The Celery task that executes a job run, and the retry policy every job task shares. Thin."""

from celery import shared_task
from django.db import OperationalError

from backoffice.core.jobs.services import job_fail, job_run_execute

MAX_RETRIES = 5
BACKOFF_SECONDS = 30


def job_task_execute(task, *, job_id: int):
    """Execute (or continue) a run inside a task: retry an OperationalError with backoff, record the last as final.

    The retry carries job_id, so a task that created its run continues that run instead of creating another.
    """
    try:
        return job_run_execute(job_id=job_id)
    except OperationalError as exc:
        if task.request.retries >= MAX_RETRIES:
            return job_fail(job_id=job_id, error=exc)
        raise task.retry(exc=exc, args=task.request.args, kwargs={**(task.request.kwargs or {}), "job_id": job_id},
                         countdown=BACKOFF_SECONDS * 2 ** task.request.retries, max_retries=MAX_RETRIES) from exc


@shared_task(bind=True, name="backoffice.job_run", acks_late=True, max_retries=MAX_RETRIES)
def job_run_task(self, *, job_id: int) -> str:
    """Execute (or continue, after a redelivery) the job run; return its status."""
    return job_task_execute(self, job_id=job_id).status
