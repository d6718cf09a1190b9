"""Writes of the batch-job framework: create, start, execute, fail and rerun job runs.

A run executes chunk by chunk. An atomic chunk inserts its completion row (JobChunk, unique per
job, step and index) first, then does its work, then counts itself on the run, all in one
transaction: a chunk that raises leaves nothing, a worker killed mid-chunk leaves nothing of that
chunk, and a redelivered run skips the chunks that committed.

Several workers share a run (settings.JOB_TASKS_PER_RUN tasks are queued for each; a worker may
also be told to join with `run_job --job`): each goes through a step's chunks, claiming each with
a try-lock (pg_try_advisory_xact_lock on the job, step and index) and skipping those another worker
holds; then it waits for the skipped ones to commit (at their unique completion row) before the
next step, so steps stay in order. A chunk whose holder died is done by whoever reaches it next.
"""

import copy
import logging
import traceback as tb
import zlib

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from backoffice.core.context import correlation
from backoffice.core.exceptions import ConflictError
from backoffice.core.jobs.models import JobChunk, JobRun
from backoffice.core.jobs.registry import Step, job_kind_get, job_plan
from backoffice.core.jobs.signals import job_rerun_requested, job_resumed

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


def job_enqueue(job_id: int, *, tasks: int | None = None, helpers: bool = False) -> None:
    """Queue a run to a worker once the caller's transaction commits (a worker never looks for a run
    that is not there yet). Call inside the transaction that created the run.

    tasks: how many tasks to queue (default settings.JOB_TASKS_PER_RUN, at least one); 0 queues none.
    helpers: the tasks only ask other workers to join a run this process executes itself (a stage of
    the end of day), so a broker that refuses them is a warning, not an error.

    The run is committed first, so a broker that refuses the message cannot lose it: the run stays
    QUEUED, the error is logged, and the request that started it still answers with it.
    `manage.py run_job --job <id>` runs it then (docs/runbook.md).
    """
    def send():
        from backoffice.core.jobs.tasks import job_run_task

        try:
            queue = job_queue(job_id)
            for _ in range(max(1, settings.JOB_TASKS_PER_RUN) if tasks is None else tasks):
                if queue:
                    job_run_task.apply_async(kwargs={"job_id": job_id}, queue=queue)
                else:
                    job_run_task.delay(job_id=job_id)
        except Exception as exc:
            if helpers:
                logger.warning("job %s: no other worker could be asked to join it (%s): this worker does it alone",
                               job_id, exc)
                return
            logger.exception("job %s could not be queued to the broker: it stays QUEUED until "
                             "`manage.py run_job --job %s` runs it", job_id, job_id)

    transaction.on_commit(send)


def job_queue(job_id: int) -> str | None:
    """The Celery queue of a run's tasks: settings.JOB_QUEUES maps a kind of job to a queue (workers started with
    ``-Q`` take only theirs, docs/scaling.md); a kind not named there goes to the default queue (None)."""
    if not settings.JOB_QUEUES:
        return None
    kind = JobRun.objects.filter(pk=job_id).values_list("kind", flat=True).first()
    return settings.JOB_QUEUES.get(kind)


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
    original = JobRun.objects.select_for_update(no_key=True).get(pk=job_id)
    if original.status != JobRun.Status.FAILED:
        raise ConflictError(f"Only a failed run can be rerun; run {original.pk} is {original.status}.")
    job = job_create(kind=original.kind, params=original.parameters, started_by=started_by, rerun_of=original)
    # send, not send_robust: a receiver that fails (the audit record) must undo the rerun with it.
    job_rerun_requested.send(sender=JobRun, original=original, job=job, started_by=started_by)
    _enqueue(job)
    return job


@transaction.atomic
def job_resume(*, job_id: int, started_by) -> JobRun:
    """Put a FAILED run back to QUEUED, keeping its committed chunks: executed again, it does only the others.

    For a run whose failure was passing (a lock timeout, a bad price since corrected) and whose work
    must stay in the same run (a stage of an end-of-day run). job_resumed, sent in this transaction,
    lets the records app audit it. Raises ConflictError unless the run failed. Enqueues nothing.
    """
    job = JobRun.objects.select_for_update(no_key=True).get(pk=job_id)
    if job.status != JobRun.Status.FAILED:
        raise ConflictError(f"Only a failed run can be resumed; run {job.pk} is {job.status}.")
    original = copy.copy(job)
    job.status = JobRun.Status.QUEUED
    job.finished_at = None
    job.error = ""
    job.traceback = ""
    job.save(update_fields=["status", "finished_at", "error", "traceback"])
    job_resumed.send(sender=JobRun, original=original, job=job, started_by=started_by)
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
    job = JobRun.objects.select_for_update(no_key=True).get(pk=job_id)
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
    """Count a committed chunk on its run. Call inside the chunk's transaction.

    The run's row is locked FOR NO KEY UPDATE (as everywhere here: its key never changes), which does not
    conflict with the FOR KEY SHARE a chunk's rows take on it through a set-based foreign key
    (backoffice.core.setfk: journal entries name their job): FOR UPDATE would, and two workers' chunks,
    each holding one and asking for the other, would deadlock.
    """
    job = JobRun.objects.select_for_update(no_key=True).get(pk=job_id)
    job.chunks_done += 1
    job.rows_affected += rows
    for planned in job.steps:
        if planned["name"] == step_name:
            planned["done"] += 1
    job.save(update_fields=["chunks_done", "rows_affected", "steps"])


def _claim_key(job: JobRun, step: Step, index: int) -> tuple[int, int]:
    """The advisory-lock key of a chunk: (job id, a 31-bit hash of step and index); int4 both."""
    return job.pk % 2**31, zlib.crc32(f"{step.name}:{index}".encode()) % 2**31


def _claim(job: JobRun, step: Step, index: int, *, wait: bool, session: bool = False) -> bool:
    """Lock the chunk for this worker. wait=False: a try-lock, False when another worker holds it;
    wait=True: wait for that worker to finish. Transaction-level (released at the chunk's commit)
    unless session, for a non-atomic chunk (release with _release)."""
    function = f"pg{'' if wait else '_try'}_advisory{'' if session else '_xact'}_lock"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s, %s)", _claim_key(job, step, index))
        return wait or cursor.fetchone()[0]


def _release(job: JobRun, step: Step, index: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s, %s)", _claim_key(job, step, index))


def _chunk_run(job: JobRun, step: Step, index: int, *, claim: bool = True) -> bool:
    """Do one chunk unless it is done (by another worker too); return False, having done nothing,
    when claim is set and another worker holds it. Without claim, wait for that worker first."""
    if not step.atomic:
        if not _claim(job, step, index, wait=not claim, session=True):
            return False
        try:
            if not claim:
                _stop_if_failed(job)
            if JobChunk.objects.filter(job=job, step=step.name, index=index).exists():
                return True
            rows, result = _outcome(step.run(job, index))
            try:
                with transaction.atomic():
                    JobChunk.objects.create(job=job, step=step.name, index=index, rows=rows, result=result)
                    _chunk_count(job.pk, step.name, rows)
            except IntegrityError:
                if not JobChunk.objects.filter(job=job, step=step.name, index=index).exists():
                    raise
        finally:
            _release(job, step, index)
        return True
    try:
        with transaction.atomic():
            if not _claim(job, step, index, wait=not claim):
                return False
            if not claim:
                # The run may have failed while this worker waited. (If the chunk it waited for was the
                # one that failed, its worker records that only after releasing the chunk: this worker
                # may do the chunk first. Harmless: a chunk is atomic, and the run is FAILED anyway.)
                _stop_if_failed(job)
            # The completion row first: a worker reaching a chunk that committed meanwhile fails here.
            chunk = JobChunk.objects.create(job=job, step=step.name, index=index)
            chunk.rows, chunk.result = _outcome(step.run(job, index))
            chunk.save(update_fields=["rows", "result"])
            _chunk_count(job.pk, step.name, chunk.rows)
    except IntegrityError:
        if not JobChunk.objects.filter(job=job, step=step.name, index=index).exists():
            raise
    return True


def _step_run(job: JobRun, step: Step, pending: list[int]) -> None:
    """Do a step's pending chunks, sharing them with any other worker on the run; return when all committed.

    First pass: every chunk no other worker holds. Second: the skipped ones, each waited for (or
    done, when its worker died without committing it). Stops (_RunEnded) once another worker has
    recorded the run FAILED.
    """
    skipped = []
    for index in pending:
        _stop_if_failed(job)
        if not _chunk_run(job, step, index):
            skipped.append(index)
    for index in skipped:
        _stop_if_failed(job)
        _chunk_run(job, step, index, claim=False)


class _RunEnded(Exception):
    """Another worker on the run recorded it FAILED: this one stops taking its chunks."""


def _stop_if_failed(job: JobRun) -> None:
    if JobRun.objects.filter(pk=job.pk, status=JobRun.Status.FAILED).exists():
        raise _RunEnded


@transaction.atomic
def _job_finish(job_id: int, order: list[str]) -> JobRun:
    job = JobRun.objects.select_for_update(no_key=True).get(pk=job_id)
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
                pending = [index for index in range(counts.get(step.name, 0)) if (step.name, index) not in done]
                _step_run(job, step, pending)
            return _job_finish(job_id, [step.name for step in plan])
        except _RunEnded:
            return JobRun.objects.get(pk=job_id)
        except OperationalError:
            raise
        except Exception as exc:
            return job_fail(job_id=job_id, error=exc)


@transaction.atomic
def job_fail(*, job_id: int, error: BaseException) -> JobRun:
    """Record a run's final failure: FAILED, the error and its traceback. A completed run stays completed."""
    job = JobRun.objects.select_for_update(no_key=True).get(pk=job_id)
    if job.status == JobRun.Status.COMPLETED:
        return job
    job.status = JobRun.Status.FAILED
    job.finished_at = timezone.now()
    job.error = f"{type(error).__name__}: {getattr(error, 'message', None) or error}"[:2000]
    job.traceback = "".join(tb.format_exception(error))
    job.save(update_fields=["status", "finished_at", "error", "traceback"])
    return job
