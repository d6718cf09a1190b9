"""Runs of one settlement date executed as batch jobs: clearing's netting runs, settlements' settlement runs.

The one way such a run is created (at most one queued or running per date; a date whose last run
failed is continued by a new job, so the date's work stays in one run) and taken over by the job
that continues it, audited. Each app describes its runs once with a DatedRunKind.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from django.db import connection, models

from backoffice.core.exceptions import ConflictError
from backoffice.core.jobs.models import JobRun
from backoffice.core.jobs.services import job_create
from records.audit.services.audit import audit_log, snapshot


@dataclass(frozen=True)
class DatedRunKind:
    """A kind of run of a date: its model (with settlement_date and a job), job kind and how to find its runs."""

    model: type[models.Model]
    job_kind: str
    label: str  # "clearing run": in messages and audit reasons
    purpose: str  # "netting": "netting of 2026-12-02"
    lock_key: int  # pg_advisory_xact_lock(lock_key, date) serialises the starts of one date
    parse_date: Callable[[object], date]  # raises BusinessRuleError for a date the kind refuses
    of_job: Callable[[JobRun], models.Model | None]
    active: Callable[..., models.Model | None]  # active(settlement_date=) -> the queued or running run
    latest: Callable[..., models.Model | None]  # latest(settlement_date=) -> the date's newest run


def dated_run_actor(kind: DatedRunKind, started_by):
    """Who acts for a run: who started it, else the job's label."""
    return started_by if started_by is not None else f"job:{kind.job_kind}"


def dated_run_for_job(kind: DatedRunKind, job: JobRun):
    """Return the job's run: its own; the failed one it continues, taken over; or a new one.

    Call inside a chunk's transaction.
    The job's own run is read without a lock, so the chunks of one run, on several workers, do not
    wait for each other here. The first chunk of a job without its run (the job continues a failed
    run, or `run_job` created it) locks the job's row, so its workers take over or create the run once.
    """
    run = kind.model.objects.filter(job_id=job.pk).first()
    if run is not None:
        return run
    JobRun.objects.select_for_update(no_key=True).filter(pk=job.pk).first()
    run = kind.model.objects.filter(job_id=job.pk).first()  # another worker of the job was first
    if run is not None:
        return run
    actor = dated_run_actor(kind, job.started_by)
    origin = kind.of_job(job)
    if origin is not None:
        run = kind.model.objects.select_for_update().select_related("job").get(pk=origin.pk)
        if run.job.status != JobRun.Status.FAILED:
            raise ConflictError(f"{kind.label.capitalize()} {run.pk} is being run by job {run.job_id} "
                                f"({run.job.status}).")
        dated_run_take_over(kind, run, job, actor=actor)
        return run
    day = kind.parse_date(job.parameters["settlement_date"])
    run = kind.model.objects.create(settlement_date=day, job=job)
    audit_log(actor=actor, action="CREATE", instance=run, after=snapshot(run),
              reason=f"{kind.purpose} of {day.isoformat()}")
    return run


def dated_run_take_over(kind: DatedRunKind, run, job: JobRun, *, actor) -> None:
    """Make `job` the run's job (a job continuing a failed run). Caller holds the run's lock."""
    before = snapshot(run)
    previous = run.job_id
    run.job = job
    run.save(update_fields=["job"])
    audit_log(actor=actor, action="UPDATE", instance=run, before=before, after=snapshot(run),
              reason=f"continued by job {job.pk} after job {previous} failed")


def dated_run_create(kind: DatedRunKind, *, settlement_date, started_by, task_id: str = ""):
    """Record a QUEUED run of the date with its job; enqueue nothing. Call inside a transaction.

    With task_id (the Celery task creating it), a redelivered task gets the run it created. Raises
    BusinessRuleError for a date the kind refuses, ConflictError while a run of the date is queued or
    running. The date's last run FAILED: it is continued by a new job (rerun_of the failed one).
    """
    if task_id:
        job = JobRun.objects.filter(task_id=task_id).first()
        if job is not None:
            run = kind.of_job(job)
            if run is not None:
                return run
    day = kind.parse_date(settlement_date)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [kind.lock_key, day.toordinal()])
    active = kind.active(settlement_date=day)
    if active is not None:
        raise ConflictError(f"{kind.label.capitalize()} {active.pk} for {day.isoformat()} is {active.job.status}: "
                            "wait for it to finish.")
    actor = dated_run_actor(kind, started_by)
    latest = kind.latest(settlement_date=day)
    if latest is not None and latest.job.status == JobRun.Status.FAILED:
        run = kind.model.objects.select_for_update().get(pk=latest.pk)
        failed = run.job
        job = job_create(kind=kind.job_kind, params=failed.parameters, started_by=started_by, rerun_of=failed,
                         task_id=task_id)
        audit_log(actor=actor, action="CREATE", instance=job, after=snapshot(job),
                  reason=f"rerun of failed job {failed.pk} ({kind.label} {run.pk})")
        dated_run_take_over(kind, run, job, actor=actor)
        return run
    job = job_create(kind=kind.job_kind, params={"settlement_date": day.isoformat()}, started_by=started_by,
                     task_id=task_id)
    run = kind.model.objects.create(settlement_date=day, job=job)
    audit_log(actor=actor, action="CREATE", instance=job, after=snapshot(job), reason=f"{kind.label} {run.pk}")
    audit_log(actor=actor, action="CREATE", instance=run, after=snapshot(run),
              reason=f"{kind.purpose} of {day.isoformat()}")
    return run
