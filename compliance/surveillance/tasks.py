"""Celery task of the surveillance (loaded by compliance/tasks.py). Thin: call the service.

compliance.surveillance_run is the beat entry "compliance-surveillance" (COMPLIANCE_SURVEILLANCE_AT, weekdays,
after accounting's end of day): the day's trades, cash movements and fails.
"""

import logging

from celery import shared_task
from django.utils import timezone

from backoffice.core.exceptions import BusinessRuleError
from backoffice.core.jobs.tasks import MAX_RETRIES, job_task_execute
from compliance.surveillance import services

logger = logging.getLogger(__name__)


@shared_task(bind=True, name="compliance.surveillance_run", acks_late=True, max_retries=MAX_RETRIES)
def surveillance_run_task(self, trade_date: str | None = None, job_id: int | None = None) -> int | None:
    """Survey a trade date (default today); return the run's job id (None when refused: a holiday, a run under way)."""
    if job_id is None:
        day = trade_date or timezone.localdate().isoformat()
        try:
            job_id = services.surveillance_run_create(trade_date=day, started_by="beat",
                                                      task_id=self.request.id or "").pk
        except BusinessRuleError as exc:
            logger.info("compliance.surveillance_run for %s skipped: %s", day, exc.message)
            return None
    return job_task_execute(self, job_id=job_id).pk
