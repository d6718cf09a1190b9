"""A broker that refuses a message never loses a run nor answers 500: the run stays QUEUED, run_job --job runs it."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from kombu.exceptions import OperationalError as BrokerError

from backoffice.core.jobs import tasks
from backoffice.core.jobs.models import JobRun
from records.audit.models import AuditVerification
from records.exports.models import ExportManifest
from records.exports.tasks import daily_exports_task
from tests.conftest import client_for, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker_down(monkeypatch):
    def refuse(*args, **kwargs):
        raise BrokerError("[Errno 111] Connection refused")

    monkeypatch.setattr(tasks.job_run_task, "delay", refuse)
    monkeypatch.setattr(daily_exports_task, "delay", refuse)


def test_a_job_started_while_the_broker_is_down_is_kept_queued_and_the_request_answers_202(
        broker_down, django_capture_on_commit_callbacks, caplog):
    ops = client_for(make_user("ops", "operations"))

    with django_capture_on_commit_callbacks(execute=True):
        response = ops.post("/api/v1/records/audit/verify/")

    assert response.status_code == 202
    job = JobRun.objects.get(pk=response.json()["id"])
    assert job.status == JobRun.Status.QUEUED
    assert f"job {job.pk} could not be queued to the broker" in caplog.text

    out = StringIO()
    call_command("run_job", "--job", str(job.pk), stdout=out)

    assert out.getvalue() == f"job {job.pk} audit-verify COMPLETED\n"
    assert AuditVerification.objects.filter(scope="FULL").count() == 1


def test_run_job_with_a_job_takes_no_kind_and_names_an_existing_run():
    with pytest.raises(CommandError, match="No job run 999"):
        call_command("run_job", "--job", "999")
    with pytest.raises(CommandError, match="give no kind"):
        call_command("run_job", "audit-verify", "--job", "1")
    with pytest.raises(CommandError, match="Give the kind of job"):
        call_command("run_job")


def test_a_manifest_asked_for_while_the_broker_is_down_is_a_503_and_nothing_is_written(broker_down):
    ops = client_for(make_user("ops", "operations"))

    response = ops.post("/api/v1/records/manifests/", {"business_date": "2026-11-20"}, format="json")

    assert response.status_code == 503
    assert response["Content-Type"].startswith("application/json")
    assert "nothing was queued" in response.json()["detail"]
    assert not ExportManifest.objects.exists() and not JobRun.objects.exists()
