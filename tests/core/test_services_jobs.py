"""The batch-job framework: chunks committed once with their work, progress, retries, failure, rerun."""

from contextlib import contextmanager
from types import SimpleNamespace

import pytest
from celery.exceptions import Retry
from django.contrib.auth.models import Group
from django.db import OperationalError

from backoffice.core.exceptions import BusinessRuleError, ConflictError
from backoffice.core.jobs import registry
from backoffice.core.jobs.models import JobChunk, JobRun
from backoffice.core.jobs.registry import JobKind, Step
from backoffice.core.jobs.services import job_create, job_rerun, job_run_execute, job_start
from backoffice.core.jobs.signals import job_rerun_requested
from backoffice.core.jobs.tasks import MAX_RETRIES, job_run_task, job_task_execute

pytestmark = pytest.mark.django_db


class WorkerKilled(BaseException):
    """What a killed worker looks like from inside: nothing after it runs, nothing catches it."""


def _create_groups(job, index: int) -> int:
    """One chunk: a Group per chunk, named for it (a second creation would violate its unique name)."""
    parameters = job.parameters
    Group.objects.create(name=f"{parameters['prefix']}-{index}")
    if index == parameters.get("fail_at"):
        raise ValueError(f"chunk {index} cannot be done")
    if index == parameters.get("kill_at") and job.attempts == 1:
        raise WorkerKilled
    return 10


def _plan(parameters: dict) -> list[Step]:
    return [Step("create", parameters["chunks"], _create_groups), Step("tally", 1, lambda job, index: {"rows": 1})]


@pytest.fixture
def groups_kind(monkeypatch):
    kind = JobKind("test-groups", "Test groups", _plan)
    monkeypatch.setitem(registry.JOB_KINDS, kind.name, kind)
    return kind


def _groups(prefix: str) -> list[str]:
    return sorted(Group.objects.filter(name__startswith=f"{prefix}-").values_list("name", flat=True))


def test_a_clean_run_commits_every_chunk_once_and_completes(groups_kind, operations_user):
    job = job_create(kind="test-groups", params={"prefix": "clean", "chunks": 4}, started_by=operations_user)
    assert (job.status, job.started_by, job.started_by_label, job.progress) == ("QUEUED", operations_user, "ops", 0.0)

    job = job_run_execute(job_id=job.pk)

    assert (job.status, job.chunks_done, job.chunks_total, job.rows_affected, job.progress) == (
        "COMPLETED", 5, 5, 41, 1.0)
    assert job.steps == [{"name": "create", "chunks": 4, "done": 4}, {"name": "tally", "chunks": 1, "done": 1}]
    assert job.result == [{"rows": 1}]
    assert _groups("clean") == ["clean-0", "clean-1", "clean-2", "clean-3"]
    assert sorted(JobChunk.objects.filter(job=job).values_list("step", "index", "rows")) == [
        ("create", 0, 10), ("create", 1, 10), ("create", 2, 10), ("create", 3, 10), ("tally", 0, 1)]
    assert job.started_at <= job.finished_at and job.attempts == 1 and job.error == ""


def test_progress_counts_the_committed_chunks_as_the_run_goes(groups_kind, monkeypatch):
    seen = []
    original = _create_groups

    def spy(job, index):
        done = JobRun.objects.get(pk=job.pk)
        seen.append((done.chunks_done, done.chunks_total, done.progress))
        return original(job, index)

    monkeypatch.setitem(registry.JOB_KINDS, "test-groups", JobKind(
        "test-groups", "Test groups", lambda parameters: [Step("create", parameters["chunks"], spy)]))
    job = job_run_execute(job_id=job_create(kind="test-groups", params={"prefix": "p", "chunks": 4}).pk)
    assert seen == [(0, 4, 0.0), (1, 4, 0.25), (2, 4, 0.5), (3, 4, 0.75)]
    assert job.progress == 1.0


def test_a_chunk_that_raises_is_rolled_back_with_its_completion_and_the_run_fails(groups_kind):
    job = job_create(kind="test-groups", params={"prefix": "fail", "chunks": 4, "fail_at": 2})

    job = job_run_execute(job_id=job.pk)

    assert (job.status, job.chunks_done, job.chunks_total, job.rows_affected, job.progress) == ("FAILED", 2, 5, 20, 0.4)
    assert job.error == "ValueError: chunk 2 cannot be done"
    assert "Traceback" in job.traceback and "raise ValueError" in job.traceback
    assert _groups("fail") == ["fail-0", "fail-1"]
    assert sorted(JobChunk.objects.filter(job=job).values_list("index", flat=True)) == [0, 1]
    assert job.finished_at is not None
    # A failed run stays failed: executing it again changes nothing.
    assert job_run_execute(job_id=job.pk).chunks_done == 2 and _groups("fail") == ["fail-0", "fail-1"]


def test_a_run_killed_mid_chunk_redoes_only_the_unfinished_chunks_and_ends_as_one_clean_run(groups_kind):
    job = job_create(kind="test-groups", params={"prefix": "kill", "chunks": 5, "kill_at": 3})
    with pytest.raises(WorkerKilled):
        job_run_execute(job_id=job.pk)
    killed = JobRun.objects.get(pk=job.pk)
    assert (killed.status, killed.chunks_done, killed.attempts) == ("RUNNING", 3, 1)
    assert _groups("kill") == ["kill-0", "kill-1", "kill-2"]

    # The redelivered message: chunks 0-2 are skipped (redoing one would violate the Group's unique name).
    job = job_run_execute(job_id=job.pk)

    clean = job_run_execute(job_id=job_create(kind="test-groups", params={"prefix": "once", "chunks": 5}).pk)
    assert (job.status, job.chunks_done, job.rows_affected, job.attempts) == ("COMPLETED", 6, 51, 2)
    assert (clean.status, clean.chunks_done, clean.rows_affected, clean.attempts) == ("COMPLETED", 6, 51, 1)
    assert [name.split("-")[1] for name in _groups("kill")] == [name.split("-")[1] for name in _groups("once")]
    assert JobChunk.objects.filter(job=job).count() == JobChunk.objects.filter(job=clean).count() == 6
    assert job.steps == clean.steps
    # Executing a completed run again does nothing.
    assert job_run_execute(job_id=job.pk).attempts == 2


def test_an_unknown_kind_or_bad_parameters_are_refused_and_nothing_is_recorded(groups_kind, monkeypatch):
    with pytest.raises(BusinessRuleError) as error:
        job_create(kind="no-such-job")
    assert error.value.field == "kind" and "test-groups" in error.value.message

    def parse(parameters):
        raise BusinessRuleError("Give a date as YYYY-MM-DD.", field="business_date")

    monkeypatch.setitem(registry.JOB_KINDS, "test-groups", JobKind("test-groups", "Test groups", _plan, parse))
    with pytest.raises(BusinessRuleError):
        job_start(kind="test-groups", params={"business_date": "soon"})
    assert JobRun.objects.count() == 0


def test_start_queues_the_run_after_commit_and_the_task_runs_it(groups_kind, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = job_start(kind="test-groups", params={"prefix": "q", "chunks": 2}, started_by="beat")
    assert (len(callbacks), JobRun.objects.get(pk=job.pk).status) == (1, "QUEUED")

    callbacks[0]()

    job.refresh_from_db()
    assert (job.status, job.started_by_label, job.chunks_done) == ("COMPLETED", "beat", 3)


class _Task:
    """The task a job runs in, as job_task_execute sees it: its retries so far, and retry()."""

    def __init__(self, retries: int):
        self.request = SimpleNamespace(retries=retries, args=(), kwargs={"requested_by_id": 7})
        self.retried_with = None

    def retry(self, **options):
        self.retried_with = options
        return Retry("retry")


def test_an_operational_error_is_retried_with_backoff_and_the_retry_continues_the_same_run(groups_kind,
                                                                                          monkeypatch):
    failures = {"left": 2}

    def flaky(job, index):
        if index == 1 and failures["left"]:
            failures["left"] -= 1
            raise OperationalError("server closed the connection unexpectedly")
        return _create_groups(job, index)

    monkeypatch.setitem(registry.JOB_KINDS, "test-groups", JobKind(
        "test-groups", "Test groups", lambda parameters: [Step("create", parameters["chunks"], flaky)]))
    job = job_create(kind="test-groups", params={"prefix": "retry", "chunks": 3})

    for retries in (0, 1):
        task = _Task(retries)
        with pytest.raises(Retry):
            job_task_execute(task, job_id=job.pk)
        assert task.retried_with["kwargs"] == {"requested_by_id": 7, "job_id": job.pk}
        assert task.retried_with["countdown"] == 30 * 2 ** retries
        assert JobRun.objects.get(pk=job.pk).status == "RUNNING"
    job = job_task_execute(_Task(2), job_id=job.pk)

    assert (job.status, job.chunks_done, job.attempts) == ("COMPLETED", 3, 3)
    assert _groups("retry") == ["retry-0", "retry-1", "retry-2"]


def test_an_operational_error_that_outlasts_the_retries_is_recorded_as_final(groups_kind, monkeypatch):
    def down(job, index):
        raise OperationalError("could not connect to server")

    monkeypatch.setitem(registry.JOB_KINDS, "test-groups", JobKind(
        "test-groups", "Test groups", lambda parameters: [Step("create", 2, down)]))
    job = job_create(kind="test-groups", params={})

    task = _Task(MAX_RETRIES)
    job = job_task_execute(task, job_id=job.pk)

    assert (job.status, job.error, job.chunks_done, task.retried_with) == (
        "FAILED", "OperationalError: could not connect to server", 0, None)
    assert "OperationalError" in job.traceback


def test_the_job_task_runs_a_queued_run(groups_kind):
    job = job_create(kind="test-groups", params={"prefix": "task", "chunks": 2})
    assert job_run_task.delay(job_id=job.pk).get() == "COMPLETED"
    assert _groups("task") == ["task-0", "task-1"]


def test_a_failed_run_is_rerun_as_a_new_run_pointing_back_to_it(groups_kind, operations_user,
                                                               django_capture_on_commit_callbacks):
    failed = job_run_execute(job_id=job_create(kind="test-groups",
                                               params={"prefix": "r", "chunks": 2, "fail_at": 1}).pk)
    assert failed.status == "FAILED"

    with django_capture_on_commit_callbacks(execute=False) as callbacks, _announced() as announced:
        rerun = job_rerun(job_id=failed.pk, started_by=operations_user)
    assert (rerun.rerun_of, rerun.kind, rerun.parameters, rerun.started_by, rerun.status) == (
        failed, "test-groups", failed.parameters, operations_user, "QUEUED")
    assert len(callbacks) == 1
    # Announced once, for the apps to record (the records app audits it: tests/records/test_signals_audit_jobs.py).
    assert announced == [(failed, rerun, operations_user)]


def test_only_a_failed_run_may_be_rerun(groups_kind, operations_user):
    done = job_run_execute(job_id=job_create(kind="test-groups", params={"prefix": "d", "chunks": 1}).pk)
    with _announced() as announced, pytest.raises(ConflictError, match=f"run {done.pk} is COMPLETED"):
        job_rerun(job_id=done.pk, started_by=operations_user)
    assert JobRun.objects.count() == 1
    assert announced == []


@contextmanager
def _announced():
    """Collect what job_rerun_requested carries: (original, new run, started_by)."""
    received = []

    def receiver(sender, original, job, started_by, **kwargs):
        received.append((original, job, started_by))

    job_rerun_requested.connect(receiver, sender=JobRun, dispatch_uid="test_announced")
    try:
        yield received
    finally:
        job_rerun_requested.disconnect(sender=JobRun, dispatch_uid="test_announced")
