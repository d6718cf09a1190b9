"""manage.py run_job, and the beat tasks running as job runs on the framework."""

import pytest
from django.core.management import CommandError, call_command

from backoffice.core.jobs.models import JobRun
from records.audit.models import AuditVerification

pytestmark = pytest.mark.django_db


def test_run_job_now_runs_the_kind_here_and_prints_the_run(capsys, instruments):
    call_command("run_job", "audit-verify", "--now")
    job = JobRun.objects.get()
    assert capsys.readouterr().out == f"job {job.pk} audit-verify COMPLETED\n"
    assert (job.started_by_label, job.result[0]["verification_id"]) == (
        "command:run_job", AuditVerification.objects.get().pk)


def test_run_job_queues_the_kind_with_its_parameters(capsys, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        call_command("run_job", "retention-purge", "--param", "dry_run=true")
    job = JobRun.objects.get()
    assert (job.kind, job.parameters, job.status, len(callbacks)) == ("retention-purge", {"dry_run": True},
                                                                      "QUEUED", 1)
    assert capsys.readouterr().out == f"job {job.pk} retention-purge QUEUED\n"


def test_run_job_refuses_an_unknown_kind_or_a_malformed_parameter():
    with pytest.raises(CommandError, match="Unknown kind of job 'nightly'"):
        call_command("run_job", "nightly")
    with pytest.raises(CommandError, match="--param takes key=value"):
        call_command("run_job", "retention-purge", "--param", "dry_run")
    with pytest.raises(CommandError, match="Give a date as YYYY-MM-DD"):
        call_command("run_job", "daily-exports", "--param", "business_date=30/11/2026")
    assert JobRun.objects.count() == 0


def test_the_beat_tasks_keep_their_names_and_each_run_is_a_job_run(instruments):
    from records.audit.tasks import audit_verify_task
    from records.exports.tasks import daily_exports_task
    from records.retention.tasks import purge_task

    assert (audit_verify_task.name, daily_exports_task.name, purge_task.name) == (
        "records.audit_verify", "records.daily_exports", "records.purge")
    verification_id = audit_verify_task.delay().get()
    manifest_id = daily_exports_task.delay("2026-11-20").get()
    purge_task.delay(dry_run=True).get()

    runs = {job.kind: job for job in JobRun.objects.all()}
    assert sorted(runs) == ["audit-verify", "daily-exports", "retention-purge"]
    assert {job.status for job in runs.values()} == {"COMPLETED"}
    assert runs["audit-verify"].result[0]["verification_id"] == verification_id
    assert runs["daily-exports"].result[0]["manifest_id"] == manifest_id
    assert runs["daily-exports"].parameters == {"business_date": "2026-11-20", "date_from": None, "date_to": None}
    assert runs["retention-purge"].chunks_done == runs["retention-purge"].chunks_total > 1
    assert {job.started_by_label for job in runs.values()} == {
        "records.audit_verify", "records.daily_exports", "records.purge"}
