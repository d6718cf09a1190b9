"""A rerun of a failed batch job is audited: the kernel announces it, the records app records it."""

import pytest
from django.db import transaction

from backoffice.core.exceptions import ConflictError
from backoffice.core.jobs import registry
from backoffice.core.jobs.models import JobRun
from backoffice.core.jobs.registry import JobKind, Step
from backoffice.core.jobs.services import job_create, job_rerun, job_run_execute
from backoffice.core.jobs.signals import job_rerun_requested
from records.audit.models import AuditRecord
from records.audit.services.audit import content_hash

pytestmark = pytest.mark.django_db


def _ledger_locked(job, index):
    raise ValueError("the ledger is locked")


@pytest.fixture
def failed_run(monkeypatch):
    kind = JobKind("test-locked", "Test locked", lambda parameters: [Step("write", 2, _ledger_locked)])
    monkeypatch.setitem(registry.JOB_KINDS, kind.name, kind)
    run = job_run_execute(job_id=job_create(kind="test-locked", params={"day": "2026-11-20"}, started_by="beat").pk)
    assert run.status == JobRun.Status.FAILED
    return run


def job_audits():
    return list(AuditRecord.objects.filter(record_type="core.jobrun").order_by("id"))


def test_a_rerun_leaves_one_audit_record_of_the_new_run_naming_the_original_and_who_started_it(failed_run,
                                                                                            operations_user):
    rerun = job_rerun(job_id=failed_run.pk, started_by=operations_user)

    [record] = job_audits()
    assert (record.action, record.record_type, record.record_id, record.actor, record.actor_label) == (
        "CREATE", "core.jobrun", str(rerun.pk), operations_user, "ops")
    assert record.reason == f"rerun of failed job {failed_run.pk} (test-locked)"
    assert record.before is None
    assert {key: record.after[key] for key in ("id", "kind", "parameters", "status", "rerun_of_id", "started_by_id",
                                               "started_by_label", "chunks_done", "chunks_total")} == {
        "id": rerun.pk, "kind": "test-locked", "parameters": {"day": "2026-11-20"}, "status": "QUEUED",
        "rerun_of_id": failed_run.pk, "started_by_id": operations_user.pk, "started_by_label": "ops",
        "chunks_done": 0, "chunks_total": 0}
    assert content_hash(record) == record.content_hash


def test_a_rerun_started_by_a_label_names_the_label(failed_run):
    rerun = job_rerun(job_id=failed_run.pk, started_by="command:run_job")
    [record] = job_audits()
    assert (record.record_id, record.actor, record.actor_label) == (str(rerun.pk), None, "command:run_job")


def test_a_refused_rerun_leaves_no_audit_record_and_no_run(failed_run, operations_user):
    rerun = job_rerun(job_id=failed_run.pk, started_by=operations_user)
    with pytest.raises(ConflictError, match=f"run {rerun.pk} is QUEUED"):
        job_rerun(job_id=rerun.pk, started_by=operations_user)
    assert [record.record_id for record in job_audits()] == [str(rerun.pk)]
    assert JobRun.objects.count() == 2


def test_the_audit_record_is_written_in_the_reruns_transaction(failed_run, operations_user):
    # A receiver after the audit one fails: the run and its audit record roll back together.
    def refuse(**kwargs):
        raise RuntimeError("refused")

    job_rerun_requested.connect(refuse, dispatch_uid="test_refuse")
    try:
        with pytest.raises(RuntimeError), transaction.atomic():
            job_rerun(job_id=failed_run.pk, started_by=operations_user)
    finally:
        job_rerun_requested.disconnect(dispatch_uid="test_refuse")
    assert job_audits() == []
    assert list(JobRun.objects.values_list("pk", flat=True)) == [failed_run.pk]

