"""Reads of the end-of-day pipeline: EOD runs (history per date) and a run's stages."""

from dataclasses import dataclass
from datetime import date

from django.db.models import QuerySet

from backoffice.core.jobs.models import JobChunk, JobRun
from backoffice.core.jobs.selectors import job_list
from backoffice.eod.stages import EOD, STAGES, Stage

NOT_STARTED = "NOT_STARTED"
SKIPPED = "SKIPPED"


def eod_run_list(*, settlement_date: date | None = None) -> QuerySet:
    """EOD runs, newest first; of one settlement date when given."""
    runs = job_list(kind=EOD)
    if settlement_date is not None:
        runs = runs.filter(parameters__settlement_date=settlement_date.isoformat())
    return runs


def eod_run_get(*, job_id: int) -> JobRun | None:
    return eod_run_list().filter(pk=job_id).first()


def eod_lineage(job: JobRun) -> list[int]:
    """The ids of the EOD run and of the failed runs it reruns, newest first: their stages are its own."""
    ids, seen = [job.pk], {job.pk}
    previous = job.rerun_of_id
    while previous is not None and previous not in seen:
        ids.append(previous)
        seen.add(previous)
        previous = JobRun.objects.filter(pk=previous).values_list("rerun_of_id", flat=True).first()
    return ids


def eod_stage_child(job: JobRun, stage: Stage) -> JobRun | None:
    """The stage's child run made by the EOD run or by a run it reruns (the newest), or None."""
    return JobRun.objects.filter(parent_id__in=eod_lineage(job), kind=stage.kind).order_by("-id").first()


@dataclass
class StageView:
    """A stage of a run as shown: its child run (None before it starts, or when skipped) and status."""

    stage: Stage
    child: JobRun | None
    status: str
    note: str = ""

    @property
    def name(self) -> str:
        return self.stage.name

    @property
    def title(self) -> str:
        return self.stage.title


def eod_stages(job: JobRun) -> list[StageView]:
    """The run's stages in order, each with its newest child run of the run's lineage (two queries and the lineage)."""
    lineage = eod_lineage(job)
    children: dict[str, JobRun] = {}
    for child in JobRun.objects.filter(parent_id__in=lineage).select_related("started_by").order_by("id"):
        children[child.kind] = child  # the newest wins
    skipped = {step: result.get("skipped") for step, result in
               JobChunk.objects.filter(job_id__in=lineage).exclude(result=None).values_list("step", "result")
               if isinstance(result, dict) and result.get("skipped")}
    views = []
    for stage in STAGES:
        child = children.get(stage.kind)
        if child is not None:
            views.append(StageView(stage, child, child.status))
        elif stage.name in skipped:
            views.append(StageView(stage, None, SKIPPED, skipped[stage.name]))
        else:
            views.append(StageView(stage, None, NOT_STARTED))
    return views
