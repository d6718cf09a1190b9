"""Celery task of retention: the purge, as a job run. Thin: call the service.

Idempotent (a redelivered purge finds nothing more to purge), so it is acknowledged late.
Database hiccups are retried; a business rule (no policy) is final, recorded on the run.
"""

from celery import shared_task

from backoffice.core.jobs.services import job_create
from backoffice.core.jobs.tasks import MAX_RETRIES, job_task_execute
from records.retention.jobs import RETENTION_PURGE


@shared_task(bind=True, name="records.purge", acks_late=True, max_retries=MAX_RETRIES)
def purge_task(self, *, dry_run: bool = False, job_id: int | None = None) -> list[dict]:
    """Purge every registered record type past retention and not on hold; return one result per type."""
    if job_id is None:
        job_id = job_create(kind=RETENTION_PURGE, params={"dry_run": dry_run}, started_by="records.purge",
                            task_id=self.request.id or "").pk
    return job_task_execute(self, job_id=job_id).result or []
