"""Writes of the batch-job framework: create, start, execute, fail and rerun job runs.

A run executes chunk by chunk. An atomic chunk inserts its completion row (JobChunk, unique per
job, step and index) first, then does its work, then counts itself on the run, all in one
transaction: a chunk that raises leaves nothing, a worker killed mid-chunk leaves nothing of that
chunk, and a redelivered run skips the chunks that committed. Two workers racing on one chunk
meet at the unique row; the second finds it committed and moves on, its work never started.
"""

import logging
import traceback as tb

from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone

from backoffice.core.context import correlation
from backoffice.core.exceptions import ConflictError
from backoffice.core.jobs.models import JobChunk, JobRun
from backoffice.core.jobs.registry import Step, job_kind_get, job_plan
from backoffice.core.jobs.signals import job_rerun_requested

SYSTEM = "system"
logger = logging.getLogger(__name__)


def _starter(started_by) -> tuple[object | None, str]:
    if started_by is None or isinstance(started_by, str):
        return None, started_by or SYSTEM
    return started_by, started_by.get_username()


@transaction.atomic
def job_create(*, kind: str, params: dict | None = None, started_by=None, rerun_of: JobRun | None = None,
               task_id: str = "") -> JobRun:
    """Record a QUEUED run of a registered kind, its parameters validated by the kind. Enqueues nothing.

    started_by is a user, a label ("beat", "command") or None (the system). With task_id (the
    Celery task creating the run), a redelivered task gets the run it created the first time.
    """
    if task_id:
        existing = JobRun.objects.filter(task_id=task_id).first()
        if existing is not None:
            return existing
    job_kind = job_kind_get(kind)
    user, label = _starter(started_by)
    return JobRun.objects.create(kind=job_kind.name, parameters=job_kind.parse(dict(params or {})),
                                 started_by=user, started_by_label=label, rerun_of=rerun_of, task_id=task_id)


def job_enqueue(job_id: int) -> None:
    """Queue a run to a worker once the caller's transaction commits (a worker never looks for a run
    that is not there yet). Call inside the transaction that created the run.

    The run is committed first, so a broker that refuses the message cannot lose it: the run stays
    QUEUED, the error is logged, and the request that started it still answers with it.
    `manage.py run_job --job <id>` runs it then (docs/runbook.md).
    """
    def send():
        from backoffice.core.jobs.tasks import job_run_task

        try:
            job_run_task.delay(job_id=job_id)
        except Exception:
            logger.exception("job %s could not be queued to the broker: it stays QUEUED until "
                             "`manage.py run_job --job %s` runs it", job_id, job_id)

    transaction.on_commit(send)


def _enqueue(job: JobRun) -> None:
    job_enqueue(job.pk)


@transaction.atomic
def job_start(*, kind: str, params: dict | None = None, started_by=None) -> JobRun:
    """Create a run and queue it to a worker once the caller's transaction commits: the one way to start a job."""
    job = job_create(kind=kind, params=params, started_by=started_by)
    _enqueue(job)
    return job


@transaction.atomic
def job_rerun(*, job_id: int, started_by) -> JobRun:
    """Start a new run of a FAILED run's kind and parameters, pointing back to it (rerun_of).

    The new run records who started it and when; job_rerun_requested, sent in this transaction, lets
    the records app write its audit record. Raises ConflictError unless the run failed.
    """
    original = JobRun.objects.select_for_update().get(pk=job_id)
    if original.status != JobRun.Status.FAILED:
        raise ConflictError(f"Only a failed run can be rerun; run {original.pk} is {original.status}.")
    job = job_create(kind=original.kind, params=original.parameters, started_by=started_by, rerun_of=original)
    # send, not send_robust: a receiver that fails (the audit record) must undo the rerun with it.
    job_rerun_requested.send(sender=JobRun, original=original, job=job, started_by=started_by)
    _enqueue(job)
    return job


def job_run_now(*, kind: str, params: dict | None = None, started_by=None, job_id: int | None = None) -> JobRun:
    """Execute a run in this process: the given one (continued), or a new one created first.

    For the Celery tasks beat calls and for `run_job --now`. Not atomic (each chunk is).
    """
    if job_id is None:
        job_id = job_create(kind=kind, params=params, started_by=started_by).pk
    return job_run_execute(job_id=job_id)


@transaction.atomic
def _job_begin(job_id: int) -> JobRun | None:
    job = JobRun.objects.select_for_update().get(pk=job_id)
    if job.status in (JobRun.Status.COMPLETED, JobRun.Status.FAILED):
        return None
    if not job.steps:
        plan = job_plan(job_kind_get(job.kind), job.parameters)
        job.steps = [{"name": step.name, "chunks": step.chunks, "done": 0} for step in plan]
        job.chunks_total = sum(step.chunks for step in plan)
    job.status = JobRun.Status.RUNNING
    job.started_at = job.started_at or timezone.now()
    job.attempts += 1
    job.save(update_fields=["steps", "chunks_total", "status", "started_at", "attempts"])
    return job


def _outcome(outcome) -> tuple[int, object]:
    if isinstance(outcome, dict):
        return int(outcome.get("rows", 0)), outcome
    return int(outcome or 0), None


def _chunk_count(job_id: int, step_name: str, rows: int) -> None:
    """Count a committed chunk on its run. Call inside the chunk's transaction."""
    job = JobRun.objects.select_for_update().get(pk=job_id)
    job.chunks_done += 1
    job.rows_affected += rows
    for planned in job.steps:
        if planned["name"] == step_name:
            planned["done"] += 1
    job.save(update_fields=["chunks_done", "rows_affected", "steps"])


def _chunk_run(job: JobRun, step: Step, index: int) -> None:
    if not step.atomic:
        rows, result = _outcome(step.run(job, index))
        try:
            with transaction.atomic():
                JobChunk.objects.create(job=job, step=step.name, index=index, rows=rows, result=result)
                _chunk_count(job.pk, step.name, rows)
        except IntegrityError:
            if not JobChunk.objects.filter(job=job, step=step.name, index=index).exists():
                raise
        return
    try:
        with transaction.atomic():
            # The completion row first: a second worker on this chunk waits here, then fails on it.
            chunk = JobChunk.objects.create(job=job, step=step.name, index=index)
            chunk.rows, chunk.result = _outcome(step.run(job, index))
            chunk.save(update_fields=["rows", "result"])
            _chunk_count(job.pk, step.name, chunk.rows)
    except IntegrityError:
        if not JobChunk.objects.filter(job=job, step=step.name, index=index).exists():
            raise


@transaction.atomic
def _job_finish(job_id: int, order: list[str]) -> JobRun:
    job = JobRun.objects.select_for_update().get(pk=job_id)
    if job.status != JobRun.Status.RUNNING:
        return job
    position = {name: n for n, name in enumerate(order)}
    chunks = sorted(job.chunks.exclude(result=None).values_list("step", "index", "result"),
                    key=lambda row: (position.get(row[0], len(order)), row[1]))
    job.result = [result for _step, _index, result in chunks] or None
    job.status = JobRun.Status.COMPLETED
    job.finished_at = timezone.now()
    job.save(update_fields=["result", "status", "finished_at"])
    return job


def job_run_execute(*, job_id: int) -> JobRun:
    """Execute a run, or continue it: every chunk not committed yet, step by step, in order. Idempotent.

    Not atomic: each chunk is its own transaction. A run already COMPLETED or FAILED is returned
    as it is. An OperationalError propagates, the run left RUNNING, so that the task retries it;
    any other error is final and recorded on the run (FAILED, error and traceback).
    """
    job = JobRun.objects.get(pk=job_id)
    with correlation(f"job:{job.kind}:{job.pk}"):
        try:
            job = _job_begin(job_id)
            if job is None:
                return JobRun.objects.get(pk=job_id)
            plan = job_plan(job_kind_get(job.kind), job.parameters)
            counts = {planned["name"]: planned["chunks"] for planned in job.steps}
            done = set(JobChunk.objects.filter(job=job).values_list("step", "index"))
            for step in plan:
                for index in range(counts.get(step.name, 0)):
                    if (step.name, index) not in done:
                        _chunk_run(job, step, index)
            return _job_finish(job_id, [step.name for step in plan])
        except OperationalError:
            raise
        except Exception as exc:
            return job_fail(job_id=job_id, error=exc)


@transaction.atomic
def job_fail(*, job_id: int, error: BaseException) -> JobRun:
    """Record a run's final failure: FAILED, the error and its traceback. A completed run stays completed."""
    job = JobRun.objects.select_for_update().get(pk=job_id)
    if job.status == JobRun.Status.COMPLETED:
        return job
    job.status = JobRun.Status.FAILED
    job.finished_at = timezone.now()
    job.error = f"{type(error).__name__}: {getattr(error, 'message', None) or error}"[:2000]
    job.traceback = "".join(tb.format_exception(error))
    job.save(update_fields=["status", "finished_at", "error", "traceback"])
    return job
