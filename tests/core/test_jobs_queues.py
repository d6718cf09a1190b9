"""Queues per kind of job (settings.JOB_QUEUES): a run's tasks go to its kind's queue, others to the default."""

import pytest
from django.db import transaction

from backoffice.core.jobs import tasks
from backoffice.core.jobs.services import job_create, job_enqueue, job_queue

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sent(monkeypatch):
    calls = []
    monkeypatch.setattr(tasks.job_run_task, "apply_async",
                        lambda kwargs, queue: calls.append(("apply_async", kwargs["job_id"], queue)))
    monkeypatch.setattr(tasks.job_run_task, "delay", lambda job_id: calls.append(("delay", job_id, None)))
    return calls


def _enqueue(kind: str, tasks_per_run: int | None = None) -> int:
    with transaction.atomic():
        job = job_create(kind=kind, params={})
        job_enqueue(job.pk, tasks=tasks_per_run)
    return job.pk


def test_a_kind_named_in_job_queues_goes_to_its_queue_once_per_task(settings, sent):
    settings.JOB_QUEUES = {"audit-verify": "records", "retention-purge": "records"}
    settings.JOB_TASKS_PER_RUN = 2
    job = _enqueue("audit-verify")
    assert sent == [("apply_async", job, "records"), ("apply_async", job, "records")]
    assert job_queue(job) == "records"


def test_a_kind_not_named_goes_to_the_default_queue(settings, sent):
    settings.JOB_QUEUES = {"retention-purge": "records"}
    job = _enqueue("audit-verify", tasks_per_run=1)
    assert sent == [("delay", job, None)]
    assert job_queue(job) is None


def test_without_job_queues_nothing_is_read_and_every_task_goes_to_the_default_queue(settings, sent,
                                                                                      django_assert_num_queries):
    settings.JOB_QUEUES = {}
    with django_assert_num_queries(0):
        assert job_queue(1) is None
    job = _enqueue("audit-verify", tasks_per_run=1)
    assert sent == [("delay", job, None)]


def test_job_queues_reads_the_environment_as_kind_equals_queue_pairs(monkeypatch):
    import environ

    monkeypatch.setenv("JOB_QUEUES", "clearing-netting=netting,settlement-run=settlement")
    assert environ.Env().dict("JOB_QUEUES", default={}) == {"clearing-netting": "netting",
                                                            "settlement-run": "settlement"}
