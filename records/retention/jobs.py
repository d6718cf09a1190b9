"""Retention's batch job: purge every registered record type past retention (kind retention-purge).

One chunk per record type, the audit trail last. Not atomic: purge_run commits its own chunks,
each with its signed tombstone, and a rerun purges nothing more.
"""

from backoffice.core.exceptions import BusinessRuleError
from backoffice.core.jobs.registry import JobKind, Step, job_kind_register
from records.retention import services as retention
from records.retention.rules import AUDIT_RECORD_TYPE

RETENTION_PURGE = "retention-purge"


def _record_types() -> list[str]:
    return sorted(retention.PURGE_REGISTRY, key=lambda record_type: (record_type == AUDIT_RECORD_TYPE, record_type))


def _parse(parameters: dict) -> dict:
    dry_run = parameters.get("dry_run", False)
    if isinstance(dry_run, str):
        if dry_run.lower() not in ("true", "false"):
            raise BusinessRuleError("Give true or false.", field="dry_run")
        dry_run = dry_run.lower() == "true"
    return {"dry_run": bool(dry_run)}


def _purge(job, index: int) -> dict:
    dry_run = job.parameters.get("dry_run", False)
    result = retention.purge_run(actor=retention.PURGE_ACTOR, record_type=_record_types()[index], dry_run=dry_run)
    return {"rows": 0 if dry_run else result.purged, "record_type": result.record_type,
            "cutoff": result.cutoff.isoformat(), "purged": result.purged, "chunks": result.chunks, "dry_run": dry_run}


def _plan(parameters: dict) -> list[Step]:
    return [Step("purge", len(_record_types()), _purge, atomic=False)]


job_kind_register(JobKind(RETENTION_PURGE, "Retention purge", _plan, _parse))
