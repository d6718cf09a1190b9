"""Celery tasks of the audit trail (listed in CELERY_IMPORTS). Thin: call the service."""

from celery import shared_task

from backoffice.core.context import correlation

from .services.audit_chain import audit_seal, audit_verify


@shared_task(name="records.audit_seal", acks_late=True, ignore_result=True)
def audit_seal_task() -> int:
    """Seal the unsealed audit records into the chain. Idempotent: a redelivery seals nothing twice."""
    with correlation("job:audit-seal"):
        return sum(block.record_count for block in audit_seal())


@shared_task(name="records.audit_verify", acks_late=True)
def audit_verify_task() -> dict:
    """Verify the whole chain; the result is kept in the task result store."""
    return audit_verify().as_dict()
