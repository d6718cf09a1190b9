"""Celery tasks of accounting's reconciliation. Thin: call the service.

accounting.reconciliation_run reconciles the ledger to the stock record and the cash balances as of
today (TIME_ZONE's date), or as of the date it is given, as a job of kind accounting-reconciliation.
The end-of-day job reconciles as one of its steps; this task is for a schedule of its own (a beat
entry) or a caller outside the pipeline.
"""

import logging

from celery import shared_task

from accounting.reconciliation.services import reconciliation_create
from backoffice.core.exceptions import BusinessRuleError
from backoffice.core.jobs.tasks import MAX_RETRIES, job_task_execute

logger = logging.getLogger(__name__)


@shared_task(bind=True, name="accounting.reconciliation_run", acks_late=True, max_retries=MAX_RETRIES)
def reconciliation_run_task(self, as_of: str | None = None, job_id: int | None = None) -> int | None:
    """Reconcile as of a date (YYYY-MM-DD, default today) as a job run; return the job's id.

    The job is created here, keyed by this task's id, and executed in place: a redelivered task
    continues the job it created, whose run is written once.
    """
    if job_id is None:
        try:
            job = reconciliation_create(as_of=as_of, started_by="beat", task_id=self.request.id or "")
        except BusinessRuleError as exc:
            logger.error("accounting.reconciliation_run as of %s refused: %s", as_of or "today", exc.message)
            return None
        job_id = job.pk
    return job_task_execute(self, job_id=job_id).pk
