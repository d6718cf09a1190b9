"""Several workers on one run, on their own connections: each chunk is done once, by one of them,
both take chunks, steps stay in order, and a chunk whose worker died is done by the other."""

import threading
import time

import pytest
from django.contrib.auth.models import Group

from backoffice.core.jobs import registry
from backoffice.core.jobs.models import JobChunk
from backoffice.core.jobs.registry import JobKind, Step
from backoffice.core.jobs.services import job_create, job_run_execute
from tests.threads import in_thread, waiting_for_a_lock

pytestmark = pytest.mark.django_db(transaction=True)

CHUNKS = 6
_in_flight = {"now": 0, "most": 0}
_counting = threading.Lock()


def _slow_chunk(job, index: int) -> dict:
    """A chunk that takes a while, names the worker (thread) that did it and fails on a second doing;
    counts how many chunks were in flight at once."""
    with _counting:
        _in_flight["now"] += 1
        _in_flight["most"] = max(_in_flight["most"], _in_flight["now"])
    try:
        time.sleep(0.15)
        Group.objects.create(name=f"par-{index}")
    finally:
        with _counting:
            _in_flight["now"] -= 1
    return {"rows": 1, "worker": threading.current_thread().name}


def _tally(job, index: int) -> dict:
    # Runs after every chunk of step "work" committed, whoever did them.
    return {"rows": 0, "groups_seen": Group.objects.filter(name__startswith="par-").count()}


@pytest.fixture
def parallel_kind(monkeypatch):
    kind = JobKind("test-parallel", "Test parallel",
                   lambda parameters: [Step("work", CHUNKS, _slow_chunk), Step("tally", 1, _tally)])
    monkeypatch.setitem(registry.JOB_KINDS, kind.name, kind)
    return kind


def _workers(job_id: int, count: int) -> dict:
    """Execute the run on `count` workers at once (threads w0, w1...); return each one's final status."""
    outcome = {}
    threads = [in_thread(lambda: job_run_execute(job_id=job_id).status, outcome, f"w{n}") for n in range(count)]
    for thread in threads:
        thread.join(60)
    return outcome


def test_two_workers_share_the_chunks_of_a_run_and_each_chunk_is_done_once(parallel_kind):
    job = job_create(kind="test-parallel", params={}, started_by="test")
    _in_flight.update(now=0, most=0)

    outcome = _workers(job.pk, 2)

    assert outcome == {"w0": "COMPLETED", "w1": "COMPLETED"}
    work = dict(JobChunk.objects.filter(job=job, step="work").values_list("index", "result"))
    assert sorted(work) == list(range(CHUNKS))
    assert Group.objects.filter(name__startswith="par-").count() == CHUNKS
    assert {result["worker"] for result in work.values()} == {"w0", "w1"}
    assert _in_flight["most"] == 2  # at the same time, not one after the other
    tally = JobChunk.objects.get(job=job, step="tally").result
    assert tally["groups_seen"] == CHUNKS
    job.refresh_from_db()
    assert (job.chunks_done, job.rows_affected, job.progress) == (CHUNKS + 1, CHUNKS, 1.0)


def test_a_chunk_held_by_a_worker_that_dies_is_done_by_the_other(parallel_kind, monkeypatch):
    """The first worker dies inside chunk 0 (its transaction rolls back, its claim goes with it): the
    second, which skipped chunk 0 while it was held, waits for it and then does it itself."""
    job = job_create(kind="test-parallel", params={}, started_by="test")
    entered, die = threading.Event(), threading.Event()

    def dying_chunk(job, index):
        if index == 0 and threading.current_thread().name == "w0":
            entered.set()
            die.wait(10)
            raise KeyboardInterrupt  # a killed worker: nothing catches it
        return _slow_chunk(job, index)

    monkeypatch.setitem(registry.JOB_KINDS, "test-parallel", JobKind(
        "test-parallel", "Test parallel",
        lambda parameters: [Step("work", CHUNKS, dying_chunk), Step("tally", 1, _tally)]))
    outcome = {}
    dying = in_thread(lambda: job_run_execute(job_id=job.pk), outcome, "w0")
    assert entered.wait(10)
    survivor = in_thread(lambda: job_run_execute(job_id=job.pk).status, outcome, "w1")
    waiting_for_a_lock()  # w1 has skipped chunk 0, done the others, and waits for chunk 0
    die.set()
    dying.join(10)
    survivor.join(60)

    assert isinstance(outcome["w0"], KeyboardInterrupt)
    assert outcome["w1"] == "COMPLETED"
    work = dict(JobChunk.objects.filter(job=job, step="work").values_list("index", "result"))
    assert sorted(work) == list(range(CHUNKS))
    assert work[0]["worker"] == "w1"
    assert Group.objects.filter(name__startswith="par-").count() == CHUNKS


def test_once_a_worker_records_the_run_failed_the_other_takes_no_more_chunks(parallel_kind, monkeypatch):
    """Chunk 0 fails on one worker while the other is inside chunk 1, which ends only once the run is FAILED:
    that worker commits chunk 1 and takes no other."""
    from backoffice.core.jobs.models import JobRun

    job = job_create(kind="test-parallel", params={}, started_by="test")
    in_chunk_1 = threading.Event()

    def failing_first(job, index):
        if index == 0:
            assert in_chunk_1.wait(10)
            raise ValueError("chunk 0 cannot be done")
        if index == 1:
            in_chunk_1.set()
            deadline = time.monotonic() + 10
            while not JobRun.objects.filter(pk=job.pk, status="FAILED").exists():
                assert time.monotonic() < deadline, "the run was never recorded FAILED"
                time.sleep(0.05)
        return _slow_chunk(job, index)

    monkeypatch.setitem(registry.JOB_KINDS, "test-parallel", JobKind(
        "test-parallel", "Test parallel",
        lambda parameters: [Step("work", CHUNKS, failing_first), Step("tally", 1, _tally)]))

    outcome = _workers(job.pk, 2)

    assert outcome == {"w0": "FAILED", "w1": "FAILED"}
    assert list(JobChunk.objects.filter(job=job).values_list("step", "index")) == [("work", 1)]
    assert _groups_made() == ["par-1"]


def _groups_made() -> list[str]:
    return sorted(Group.objects.filter(name__startswith="par-").values_list("name", flat=True))
