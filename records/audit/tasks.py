"""Celery tasks of the audit trail: sealing and verifying the chain. Thin: call the service."""

from celery import shared_task

from backoffice.core.context import correlation
from records.audit.services.audit_chain import audit_seal, audit_verification_run


@shared_task(name="records.audit_seal", acks_late=True, ignore_result=True)
def audit_seal_task() -> int:
    """Seal the unsealed audit records into the chain. Idempotent: a redelivery seals nothing twice."""
    with correlation("job:audit-seal"):
        return sum(block.record_count for block in audit_seal())


@shared_task(name="records.audit_verify", acks_late=True)
def audit_verify_task(requested_by_id: int | None = None) -> int:
    """Verify the whole chain and keep the result (an AuditVerification); returns its id.

    Read-only but for the result it records, so a redelivery only verifies once more.
    """
    from django.contrib.auth import get_user_model

    actor = get_user_model().objects.filter(pk=requested_by_id).first() if requested_by_id else None
    with correlation(f"job:audit-verify:{audit_verify_task.request.id or 'local'}"):
        return audit_verification_run(actor=actor or "job:audit-verify").pk
