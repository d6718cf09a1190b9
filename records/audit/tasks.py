"""Celery tasks of the audit trail: sealing and verifying the chain. Thin: call the service."""

from celery import shared_task

from backoffice.core.context import correlation
from backoffice.core.jobs.services import job_create
from backoffice.core.jobs.tasks import MAX_RETRIES, job_task_execute
from records.audit.jobs import AUDIT_VERIFY
from records.audit.services.audit_chain import audit_seal


@shared_task(name="records.audit_seal", acks_late=True, ignore_result=True)
def audit_seal_task() -> int:
    """Seal the unsealed audit records into the chain. Idempotent: a redelivery seals nothing twice."""
    with correlation("job:audit-seal"):
        return sum(block.record_count for block in audit_seal())


@shared_task(bind=True, name="records.audit_verify", acks_late=True, max_retries=MAX_RETRIES)
def audit_verify_task(self, requested_by_id: int | None = None, job_id: int | None = None) -> int | None:
    """Verify the whole chain as a job run (kind audit-verify), created here unless given; return the verification id.

    Read-only but for the result it records, so a redelivery only verifies once more. The id is in
    the result of the run's last step (record).
    """
    from django.contrib.auth import get_user_model

    if job_id is None:
        actor = get_user_model().objects.filter(pk=requested_by_id).first() if requested_by_id else None
        job_id = job_create(kind=AUDIT_VERIFY, started_by=actor or "records.audit_verify",
                            task_id=self.request.id or "").pk
    job = job_task_execute(self, job_id=job_id)
    return job.result[-1].get("verification_id") if job.result else None
