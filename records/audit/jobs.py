"""The audit trail's batch job: verify the whole hash chain and keep the result (kind audit-verify)."""

from backoffice.core.jobs.registry import JobKind, Step, job_kind_register
from records.audit.services.audit_chain import audit_verification_run

AUDIT_VERIFY = "audit-verify"


def _verify(job, index: int) -> dict:
    # Read-only but for the AuditVerification it records, in the chunk's transaction.
    verification = audit_verification_run(actor=job.started_by or f"job:{AUDIT_VERIFY}")
    return {"rows": verification.records_checked, "verification_id": verification.pk, "ok": verification.ok,
            "first_broken": verification.first_broken}


def _plan(parameters: dict) -> list[Step]:
    return [Step("verify", 1, _verify)]


def _parse(parameters: dict) -> dict:
    return {}


job_kind_register(JobKind(AUDIT_VERIFY, "Audit chain verification", _plan, _parse))
