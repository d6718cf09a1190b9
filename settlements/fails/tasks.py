"""Celery tasks of settlements' fails (loaded by settlements/tasks.py). Thin: call the service.

settlements.fail_penalties is the beat entry "fail-penalties" (backoffice/settings/base.py, weekdays
at FAIL_PENALTIES_AT, early morning): it accrues the penalties of the last day before today (TIME_ZONE's
date) on which some market settled, now that it is over. A settlement run does the same as its last
step; both insert each penalty once. Another day is accrued by starting a run of it (API, fails page,
manage.py run_job fail-penalties --param date=D).
"""

import logging

from celery import shared_task
from django.utils import timezone

from backoffice.core.exceptions import BusinessRuleError
from backoffice.core.fields import parse_date
from backoffice.core.jobs.tasks import MAX_RETRIES, job_task_execute
from settlements.fails.services import fail_penalties_create, previous_penalty_day

logger = logging.getLogger(__name__)


@shared_task(bind=True, name="settlements.fail_penalties", acks_late=True, max_retries=MAX_RETRIES)
def fail_penalties_task(self, date: str | None = None, job_id: int | None = None) -> int | None:
    """Accrue a date's fail penalties (default: the last settlement day before today) as a job run; return its id.

    The run is created here, keyed by this task's id, and executed in place: a redelivered task
    continues the run it created.
    """
    if job_id is None:
        day = parse_date(date) if date else previous_penalty_day(timezone.localdate())
        try:
            job = fail_penalties_create(penalty_date=day, started_by="beat", task_id=self.request.id or "")
        except BusinessRuleError as exc:
            logger.info("settlements.fail_penalties for %s: %s", day, exc.message)
            return None
        job_id = job.pk
    return job_task_execute(self, job_id=job_id).pk
