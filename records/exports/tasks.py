"""Celery task of the books-and-records exports: the daily exports, as a job run. Thin: call the service.

Idempotent (a redelivered export returns the date's manifest), so it is acknowledged late.
Database hiccups are retried; a business rule (a clashing range) is final, recorded on the run.
"""

from celery import shared_task
from django.contrib.auth import get_user_model

from backoffice.core.jobs.services import job_create
from backoffice.core.jobs.tasks import MAX_RETRIES, job_task_execute
from records.exports.jobs import DAILY_EXPORTS


@shared_task(bind=True, name="records.daily_exports", acks_late=True, max_retries=MAX_RETRIES)
def daily_exports_task(self, business_date: str | None = None, date_from: str | None = None,
                       date_to: str | None = None, requested_by_id: int | None = None,
                       job_id: int | None = None) -> int | None:
    """Write and sign the exports of a business date (default: yesterday) as a job run; return the manifest id."""
    if job_id is None:
        actor = get_user_model().objects.filter(pk=requested_by_id).first() if requested_by_id else None
        job_id = job_create(kind=DAILY_EXPORTS, started_by=actor or "records.daily_exports",
                            params={"business_date": business_date, "date_from": date_from, "date_to": date_to},
                            task_id=self.request.id or "").pk
    job = job_task_execute(self, job_id=job_id)
    return job.result[0]["manifest_id"] if job.result else None
