"""Writes of the end-of-day pipeline: start, create and rerun EOD runs, and do one stage of a run.

An EOD run is a JobRun of kind "eod" (backoffice/eod/jobs.py) with {"settlement_date": D}. Its
plan is one step per stage, in order, each a single non-atomic chunk (eod_stage_run): the chunk
finds or creates the stage's child run (a JobRun of the app's kind, parent = the EOD run), queues
JOB_TASKS_PER_RUN - 1 more tasks for the child so that idle workers share its chunks, executes the
child in this process, and raises with the child's reason if the child failed: the job framework
then records the EOD run FAILED and runs no later stage. A rerun of a failed EOD run (job_rerun,
or eod_run_rerun) skips the stages whose child completed and resumes the failed child (job_resume:
its committed chunks are kept, not redone). What "for D" means per stage: docs/eod.md.
"""

import contextlib
import contextvars
from datetime import date

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from accounting.posting.services import MARK_TO_MARKET, POSTING
from accounting.reconciliation.selectors import RECONCILIATION
from backoffice.core.exceptions import BusinessRuleError, ConflictError
from backoffice.core.fields import date_param
from backoffice.core.jobs.models import JobRun
from backoffice.core.jobs.services import job_create, job_enqueue, job_rerun, job_resume, job_run_execute
from backoffice.eod.selectors import eod_stage_child
from backoffice.eod.stages import EOD, Stage
from clearing.matching.jobs import MATCHING
from clearing.netting.services import clearing_run_create, netting_date_parse, netting_parameters
from compliance.surveillance.services import surveillance_run_create, trade_date_parse
from records.audit.services.audit import audit_log, snapshot
from settlements.runs.services import settlement_parameters, settlement_run_create

ACTIVE = (JobRun.Status.QUEUED, JobRun.Status.RUNNING)
# pg_advisory_xact_lock key (namespace, day ordinal): one start of a date's end of day at a time.
_START_LOCK = 0x454F4421  # "EOD!"


class EodStageFailed(Exception):
    """A stage's run failed: the EOD run fails with its reason, and no later stage starts."""


def _extra(kind: str) -> dict:
    """The parameters settings.EOD_STAGE_PARAMETERS gives a stage's new child runs (chunk sizes, docs/eod.md)."""
    return dict(getattr(settings, "EOD_STAGE_PARAMETERS", {}).get(kind, {}))


def _audited(job: JobRun, actor, day: date, title: str) -> JobRun:
    audit_log(actor=actor, action="CREATE", instance=job, after=snapshot(job),
              reason=f"{title.lower()} of the end of day of {day.isoformat()}")
    return job


def _resized(job: JobRun, parse) -> JobRun:
    """A dated run's new job with the chunk size EOD_STAGE_PARAMETERS asks for (its bounds cut again, before any
    worker saw it). A job continuing a failed run keeps the bounds of the run it continues."""
    extra = _extra(job.kind)
    if extra and job.rerun_of_id is None:
        job.parameters = parse({"settlement_date": job.parameters["settlement_date"], **extra})
        job.save(update_fields=["parameters"])
    return job


def _matching(day: date, actor) -> JobRun:
    return _audited(job_create(kind=MATCHING, params=_extra(MATCHING), started_by=actor), actor, day, "Matching")


def _netting(day: date, actor) -> JobRun:
    return _resized(clearing_run_create(settlement_date=day, started_by=actor).job, netting_parameters)


def _settlement(day: date, actor) -> JobRun:
    return _resized(settlement_run_create(settlement_date=day, started_by=actor).job, settlement_parameters)


def _posting(day: date, actor) -> JobRun:
    return _audited(job_create(kind=POSTING, params=_extra(POSTING), started_by=actor), actor, day, "Posting")


def _mark_to_market(day: date, actor) -> JobRun:
    job = job_create(kind=MARK_TO_MARKET, params={**_extra(MARK_TO_MARKET), "as_of": day.isoformat()},
                     started_by=actor)
    return _audited(job, actor, day, "Mark to market")


def _reconciliation(day: date, actor) -> JobRun:
    job = job_create(kind=RECONCILIATION, params={"as_of": day.isoformat()}, started_by=actor)
    return _audited(job, actor, day, "Reconciliation")


def _surveillance(day: date, actor) -> JobRun | str:
    try:
        trade_date_parse(day)
    except BusinessRuleError as exc:  # a settlement day no market trades on: no trades of it to survey
        return exc.message
    return surveillance_run_create(trade_date=day, started_by=actor)


# How each stage creates its child run for a day (QUEUED, audited; call inside a transaction), or says
# why the stage has nothing to do that day.
_CREATE = {"matching": _matching, "netting": _netting, "settlement": _settlement, "posting": _posting,
           "mark-to-market": _mark_to_market, "reconciliation": _reconciliation, "surveillance": _surveillance}


# --- parameters ---

def eod_date_parse(value) -> date:
    """Return the settlement date of an EOD run, or raise BusinessRuleError on settlement_date.

    YYYY-MM-DD, not in the future (its prices are not known yet), a settlement day of some market.
    """
    if value in (None, ""):
        raise BusinessRuleError("Give the settlement date (YYYY-MM-DD).", field="settlement_date")
    day = date_param(value, field="settlement_date")
    if day > timezone.localdate():
        raise BusinessRuleError(f"{day.isoformat()} is in the future: its end of day cannot run yet.",
                                field="settlement_date")
    return netting_date_parse(day)


def eod_parameters(parameters: dict) -> dict:
    """The kind's parse: {"settlement_date": "YYYY-MM-DD"} and nothing else."""
    unknown = sorted(set(parameters) - {"settlement_date"})
    if unknown:
        raise BusinessRuleError(f"Unknown parameter {unknown[0]!r}; expected settlement_date.", field=unknown[0])
    return {"settlement_date": eod_date_parse(parameters.get("settlement_date")).isoformat()}


# --- starting a run ---

def _active(day: date) -> JobRun | None:
    return (JobRun.objects.filter(kind=EOD, parameters__settlement_date=day.isoformat(), status__in=ACTIVE)
            .order_by("id").first())


def _latest(day: date) -> JobRun | None:
    return JobRun.objects.filter(kind=EOD, parameters__settlement_date=day.isoformat()).order_by("-id").first()


def _lock_date(day: date) -> None:
    with connection.cursor() as cursor:  # the checks that follow hold until the caller commits
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_START_LOCK, day.toordinal()])


def _refuse_while_active(day: date) -> None:
    active = _active(day)
    if active is not None:
        raise ConflictError(f"The end of day of {day.isoformat()} is already {active.get_status_display().lower()} "
                            f"(run {active.pk}): wait for it to finish.")


@transaction.atomic
def eod_run_create(*, settlement_date, started_by, task_id: str = "") -> JobRun:
    """Record a QUEUED EOD run of a settlement date (audited); enqueue nothing.

    BusinessRuleError on settlement_date for a malformed or future date or a day no market settles;
    ConflictError while an EOD run of the date is queued or running. The date's last EOD run FAILED:
    the new run is its rerun (rerun_of), so it continues where that one stopped. With task_id (the
    beat's task creating it), a redelivered task gets the run it created.
    """
    if task_id:
        existing = JobRun.objects.filter(task_id=task_id, kind=EOD).first()
        if existing is not None:
            return existing
    day = eod_date_parse(settlement_date)
    _lock_date(day)
    _refuse_while_active(day)
    latest = _latest(day)
    rerun_of = latest if latest is not None and latest.status == JobRun.Status.FAILED else None
    job = job_create(kind=EOD, params={"settlement_date": day.isoformat()}, started_by=started_by,
                     rerun_of=rerun_of, task_id=task_id)
    reason = (f"end of day of {day.isoformat()}, continuing failed run {rerun_of.pk}" if rerun_of
              else f"end of day of {day.isoformat()}")
    audit_log(actor=started_by or "system", action="CREATE", instance=job, after=snapshot(job), reason=reason)
    return job


@transaction.atomic
def eod_run_start(*, settlement_date, started_by) -> JobRun:
    """Create an EOD run of the date (eod_run_create) and queue it to workers once this commits.

    The one way the API, the dashboard and `manage.py run_eod` start an end of day.
    """
    job = eod_run_create(settlement_date=settlement_date, started_by=started_by)
    job_enqueue(job.pk)
    return job


@transaction.atomic
def eod_run_rerun(*, job_id: int, started_by) -> JobRun:
    """Rerun a failed EOD run: a new run (rerun_of it, audited) that resumes its failed stage. Queued once this commits.

    BusinessRuleError for a run that is not an end of day; ConflictError unless it failed, once it
    has been rerun (rerun the newer run), or while another EOD run of its date is queued or running.
    """
    original = JobRun.objects.filter(pk=job_id).first()
    if original is None or original.kind != EOD:
        raise BusinessRuleError(f"There is no end-of-day run {job_id}.", field="job")
    day = date.fromisoformat(original.parameters["settlement_date"])
    _lock_date(day)
    _refuse_while_active(day)
    later = original.reruns.order_by("-id").first()
    if later is not None:
        raise ConflictError(f"Run {original.pk} was already rerun as run {later.pk}: rerun that one if it failed.")
    return job_rerun(job_id=job_id, started_by=started_by)


# --- executing a stage ---

def _actor(job: JobRun):
    """Who acts for a stage: the user who started the EOD run, else the run itself ("job:eod:31")."""
    return job.started_by if job.started_by_id else f"job:{EOD}:{job.pk}"


def _outcome(stage: Stage, child: JobRun) -> dict:
    return {"rows": child.rows_affected, "stage": stage.name, "job": child.pk, "kind": child.kind,
            "status": child.status}


# Whether a stage asks idle workers to join its child run: not when one process runs the end of day alone on
# purpose (the demo of `make run`, before any worker is there), which would only leave tasks finding their job
# done behind it.
_HELPERS: contextvars.ContextVar[bool] = contextvars.ContextVar("eod_helpers", default=True)


@contextlib.contextmanager
def eod_alone():
    """Within: the stages run in this process only, asking no other worker to join."""
    token = _HELPERS.set(False)
    try:
        yield
    finally:
        _HELPERS.reset(token)


def eod_stage_run(*, job: JobRun, stage: Stage) -> dict:
    """Do one stage of an EOD run: find or create its child run, execute it here with the help of idle
    workers, and return its outcome; raise EodStageFailed with its reason if it failed.

    Not atomic (the child's chunks are, each): idempotent, so a redelivered EOD task redoes it safely.
    """
    day = date.fromisoformat(job.parameters["settlement_date"])
    actor = _actor(job)
    child = eod_stage_child(job, stage)
    if child is None:
        with transaction.atomic():
            created = _CREATE[stage.name](day, actor)
            if isinstance(created, str):
                return {"rows": 0, "stage": stage.name, "skipped": created}
            JobRun.objects.filter(pk=created.pk).update(parent=job)
            child = created
    elif child.status == JobRun.Status.COMPLETED:
        return {**_outcome(stage, child), "reused": True}
    elif child.status == JobRun.Status.FAILED:
        child = job_resume(job_id=child.pk, started_by=actor)
    # Idle workers join the child (each claims the chunks no other holds); this worker executes it too.
    if _HELPERS.get():
        job_enqueue(child.pk, tasks=max(0, settings.JOB_TASKS_PER_RUN - 1), helpers=True)
    child = job_run_execute(job_id=child.pk)
    if child.status != JobRun.Status.COMPLETED:
        raise EodStageFailed(f"{stage.title} failed (job {child.pk}, {child.kind}): {child.error or child.status}")
    return _outcome(stage, child)
