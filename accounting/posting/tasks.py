"""Celery tasks of accounting's posting (loaded by accounting/tasks.py). Thin: call the service.

accounting.posting_run is the beat entry "accounting-posting" (every ACCOUNTING_POSTING_SECONDS):
the ledger trails capture by minutes. accounting.eod_run is "accounting-eod" (ACCOUNTING_EOD_AT,
weekdays): post, mark to market and revalue FX as of today, then reconcile.
"""

import logging

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from accounting.posting.services import EOD, POSTING, valuation_parameters
from backoffice.core.exceptions import BusinessRuleError
from backoffice.core.jobs.models import JobRun
from backoffice.core.jobs.services import job_create
from backoffice.core.jobs.tasks import MAX_RETRIES, job_task_execute

logger = logging.getLogger(__name__)


@shared_task(bind=True, name="accounting.posting_run", acks_late=True, max_retries=MAX_RETRIES)
def posting_run_task(self, job_id: int | None = None) -> int | None:
    """Post what is not posted yet; return the run's job id (None while another posting run is under way)."""
    if job_id is None:
        with transaction.atomic():
            busy = JobRun.objects.filter(kind=POSTING, status__in=(JobRun.Status.QUEUED, JobRun.Status.RUNNING))
            if busy.exclude(task_id=self.request.id or "-").exists():
                logger.info("accounting.posting_run skipped: a posting run is under way")
                return None
            job_id = job_create(kind=POSTING, params={}, started_by="beat", task_id=self.request.id or "").pk
    return job_task_execute(self, job_id=job_id).pk


@shared_task(bind=True, name="accounting.eod_run", acks_late=True, max_retries=MAX_RETRIES)
def accounting_eod_task(self, as_of: str | None = None, job_id: int | None = None) -> int | None:
    """The accounting end of day as of a date (default today); return the run's job id."""
    if job_id is None:
        try:
            parameters = valuation_parameters({"as_of": as_of or timezone.localdate().isoformat()})
        except BusinessRuleError as exc:
            logger.warning("accounting.eod_run for %s refused: %s", as_of, exc.message)
            return None
        job_id = job_create(kind=EOD, params=parameters, started_by="beat", task_id=self.request.id or "").pk
    return job_task_execute(self, job_id=job_id).pk
