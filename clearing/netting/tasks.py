"""Celery tasks of clearing's netting (loaded by clearing/tasks.py). Thin: call the service.

clearing.netting_run is the beat entry "clearing-netting" (backoffice/settings/base.py, at
CLEARING_CUTOFF): it nets the next settlement date after today (TIME_ZONE's date), the day the
trades captured today settle T+1; trades of an earlier date that became eligible after their run
(matched late) are netted by starting a run of that date (API, dashboard, manage.py clearing_run).
"""

import logging

from celery import shared_task
from django.utils import timezone

from backoffice.core.exceptions import BusinessRuleError, ConflictError
from backoffice.core.fields import parse_date
from backoffice.core.jobs.tasks import MAX_RETRIES, job_task_execute
from clearing.netting.services import clearing_run_create, next_settlement_date

logger = logging.getLogger(__name__)


@shared_task(bind=True, name="clearing.netting_run", acks_late=True, max_retries=MAX_RETRIES)
def netting_run_task(self, settlement_date: str | None = None, job_id: int | None = None) -> int | None:
    """Net a settlement date (default: the next one after today) as a clearing run; return the run's job id.

    The run is created here, keyed by this task's id, and executed in place: a redelivered task
    continues the run it created. While a run of the date is queued or running, nothing is done.
    """
    if job_id is None:
        day = parse_date(settlement_date) if settlement_date else next_settlement_date(after=timezone.localdate())
        try:
            run = clearing_run_create(settlement_date=day, started_by="beat", task_id=self.request.id or "")
        except ConflictError as exc:
            logger.warning("clearing.netting_run for %s: %s", day, exc.message)
            return None
        except BusinessRuleError as exc:
            logger.error("clearing.netting_run for %s refused: %s", day, exc.message)
            return None
        job_id = run.job_id
    return job_task_execute(self, job_id=job_id).pk
