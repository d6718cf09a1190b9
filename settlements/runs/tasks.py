"""Celery tasks of settlements' runs (loaded by settlements/tasks.py). Thin: call the service.

settlements.settlement_run is the beat entry "settlement-run" (backoffice/settings/base.py, at
SETTLEMENT_CUTOFF, weekdays): it settles today (TIME_ZONE's date), every open instruction due on or
before it. A day no market settles is skipped; an earlier date is settled by starting a run of it
(API, dashboard, manage.py settlement_run).
"""

import logging

from celery import shared_task
from django.utils import timezone

from backoffice.core.exceptions import BusinessRuleError, ConflictError
from backoffice.core.fields import parse_date
from backoffice.core.jobs.tasks import MAX_RETRIES, job_task_execute
from settlements.runs.services import settlement_run_create

logger = logging.getLogger(__name__)


@shared_task(bind=True, name="settlements.settlement_run", acks_late=True, max_retries=MAX_RETRIES)
def settlement_run_task(self, settlement_date: str | None = None, job_id: int | None = None) -> int | None:
    """Settle a date (default: today) as a settlement run; return the run's job id.

    The run is created here, keyed by this task's id, and executed in place: a redelivered task
    continues the run it created. While a run of the date is queued or running, nothing is done.
    """
    if job_id is None:
        day = parse_date(settlement_date) if settlement_date else timezone.localdate()
        try:
            run = settlement_run_create(settlement_date=day, started_by="beat", task_id=self.request.id or "")
        except ConflictError as exc:
            logger.warning("settlements.settlement_run for %s: %s", day, exc.message)
            return None
        except BusinessRuleError as exc:
            logger.info("settlements.settlement_run for %s skipped: %s", day, exc.message)
            return None
        job_id = run.job_id
    return job_task_execute(self, job_id=job_id).pk
