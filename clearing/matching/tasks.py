"""Celery tasks of clearing's matching (loaded by clearing/tasks.py). Thin: a job run of the framework.

Idempotent (a redelivered run skips its committed chunks, and matching again changes nothing that
still holds), so acknowledged late; database hiccups are retried with the framework's backoff.
"""

from celery import shared_task

from backoffice.core.jobs.services import job_create
from backoffice.core.jobs.tasks import MAX_RETRIES, job_task_execute
from clearing.matching.jobs import MATCHING


@shared_task(bind=True, name="clearing.match", acks_late=True, max_retries=MAX_RETRIES)
def match_task(self, job_id: int | None = None) -> dict:
    """Match every open confirmation again as a job run (kind clearing-match); return what changed."""
    if job_id is None:
        job_id = job_create(kind=MATCHING, started_by="clearing.match", task_id=self.request.id or "").pk
    job = job_task_execute(self, job_id=job_id)
    totals = {"job": job.pk, "status": job.status, "matched": 0, "mismatched": 0, "unmatched": 0}
    for chunk in job.result or []:
        for name in ("matched", "mismatched", "unmatched"):
            totals[name] += chunk.get(name, 0)
    return totals
