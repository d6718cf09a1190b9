"""manage.py run_job, and the beat tasks running as job runs on the framework."""

import pytest
from django.core.management import CommandError, call_command

from backoffice.core.jobs.models import JobRun
from backoffice.core.jobs.services import job_create, job_fail
from records.audit.models import AuditVerification

pytestmark = pytest.mark.django_db


def test_run_job_now_runs_the_kind_here_and_prints_the_run(capsys, instruments):
    call_command("run_job", "audit-verify", "--now")
    job = JobRun.objects.get()
    assert capsys.readouterr().out == f"job {job.pk} audit-verify COMPLETED\n"
    assert (job.started_by_label, job.result[-1]["verification_id"]) == (
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
    assert runs["audit-verify"].result[-1]["verification_id"] == verification_id
    assert runs["daily-exports"].result[0]["manifest_id"] == manifest_id
    assert runs["daily-exports"].parameters == {"business_date": "2026-11-20", "date_from": None, "date_to": None}
    assert runs["retention-purge"].chunks_done == runs["retention-purge"].chunks_total > 1
    assert {job.started_by_label for job in runs.values()} == {
        "records.audit_verify", "records.daily_exports", "records.purge"}


def test_the_admin_shows_a_failed_run_with_its_traceback_and_allows_no_change(client, superuser):
    job = job_create(kind="retention-purge")
    try:
        raise RuntimeError("disk full")
    except RuntimeError as exc:
        job_fail(job_id=job.pk, error=exc)
    client.force_login(superuser)
    content = client.get(f"/admin/core/jobrun/{job.pk}/change/").content.decode()
    assert "RuntimeError: disk full" in content and "Traceback (most recent call last)" in content
    assert client.get("/admin/core/jobrun/").status_code == 200
    assert client.get("/admin/core/jobrun/add/").status_code == 403
    assert client.post(f"/admin/core/jobrun/{job.pk}/delete/", {"post": "yes"}).status_code == 403
    assert JobRun.objects.filter(pk=job.pk, status="FAILED").exists()


def test_a_redelivered_beat_task_continues_the_run_it_created_instead_of_starting_another(instruments):
    from records.audit.tasks import audit_verify_task

    first = audit_verify_task.apply(task_id="c0ffee-redelivered").get()
    again = audit_verify_task.apply(task_id="c0ffee-redelivered").get()

    job = JobRun.objects.get()
    assert (job.task_id, job.status, job.attempts, first, again) == (
        "c0ffee-redelivered", "COMPLETED", 1, AuditVerification.objects.get().pk, AuditVerification.objects.get().pk)


def test_a_redelivered_task_of_a_run_killed_midway_finishes_that_run(instruments):
    job = job_create(kind="retention-purge", task_id="purge-1")
    JobRun.objects.filter(pk=job.pk).update(status="RUNNING")  # a worker took it, then died before any chunk

    from records.retention.tasks import purge_task

    results = purge_task.apply(task_id="purge-1").get()

    job.refresh_from_db()
    assert (job.status, JobRun.objects.count(), job.chunks_done) == ("COMPLETED", 1, job.chunks_total)
    assert [result["record_type"] for result in results] == [chunk["record_type"] for chunk in job.result]
