"""The beat's end of day (entry "eod", settings.EOD_AT, weekdays): today's settlement date. Thin: call the service."""

import logging

from celery import shared_task
from django.utils import timezone

from backoffice.core.exceptions import BusinessRuleError, ConflictError
from backoffice.core.fields import parse_date
from backoffice.core.jobs.tasks import MAX_RETRIES, job_task_execute
from backoffice.eod.services import eod_run_create

logger = logging.getLogger(__name__)


@shared_task(bind=True, name="backoffice.eod_run", acks_late=True, max_retries=MAX_RETRIES)
def eod_run_task(self, settlement_date: str | None = None, job_id: int | None = None) -> int | None:
    """Run the end of day of a settlement date (default today) here; return its run's id.

    The run is created here, keyed by this task's id, and executed in place (its stages' chunks fan
    out to the other workers): a redelivered task continues it. A day no market settles is skipped;
    while an EOD run of the date is queued or running, nothing is done.
    """
    if job_id is None:
        day = parse_date(settlement_date) if settlement_date else timezone.localdate()
        try:
            job_id = eod_run_create(settlement_date=day, started_by="beat", task_id=self.request.id or "").pk
        except ConflictError as exc:
            logger.warning("backoffice.eod_run for %s: %s", day, exc.message)
            return None
        except BusinessRuleError as exc:
            logger.info("backoffice.eod_run for %s skipped: %s", day, exc.message)
            return None
    return job_task_execute(self, job_id=job_id).pk
