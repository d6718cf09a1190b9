"""The jobs page: every batch job run, its progress (polled), and a rerun for the failed ones."""

from datetime import timedelta
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_POST

from backoffice.core import roles
from backoffice.core.exceptions import BusinessRuleError
from backoffice.core.forms import page_of, with_all
from backoffice.core.jobs import selectors
from backoffice.core.jobs.models import JobRun
from backoffice.core.jobs.registry import JOB_KINDS
from backoffice.core.jobs.services import job_rerun
from backoffice.core.templatetags.dashboard import status_tone
from backoffice.eod.services import eod_run_rerun
from backoffice.eod.stages import EOD

READERS = (roles.OPERATIONS, roles.COMPLIANCE, roles.ACCOUNTING)
RUNNERS = (roles.OPERATIONS,)
ACTIVE = (JobRun.Status.QUEUED, JobRun.Status.RUNNING)
MAX_POLLED = 200
MAX_NEW = 50


class JobFilterForm(forms.Form):
    kind = forms.ChoiceField(required=False)
    status = forms.ChoiceField(required=False, choices=with_all(JobRun.Status.choices))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = with_all(sorted((name, kind.title) for name, kind in JOB_KINDS.items()))


def duration_text(duration: timedelta | None) -> str:
    """Return "4.2 s", "3 min 05 s" or "1 h 02 min"; "" before a run starts."""
    if duration is None:
        return ""
    seconds = duration.total_seconds()
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, second = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {second:02d} s"
    hours, minute = divmod(minutes, 60)
    return f"{hours} h {minute:02d} min"


def percent_text(job: JobRun) -> str:
    """Return the completed share as "33%", rounded down: "100%" only once the run has completed."""
    if job.status == JobRun.Status.COMPLETED:
        return "100%"
    return f"{min(99, int(job.progress * 100))}%"


def chunks_text(job: JobRun) -> str:
    """Return "9/27 chunks"; "waiting for a worker" before a worker has planned the run."""
    if job.chunks_total:
        return f"{job.chunks_done}/{job.chunks_total} chunks"
    return "waiting for a worker" if job.status == JobRun.Status.QUEUED else ""


def _progress_of(job: JobRun) -> dict:
    return {"id": job.pk, "status": job.status, "status_label": job.get_status_display(),
            "tone": status_tone(job.status), "progress": job.progress, "percent": percent_text(job),
            "chunks_done": job.chunks_done, "chunks_total": job.chunks_total, "chunks": chunks_text(job),
            "rows_affected": job.rows_affected, "duration": duration_text(job.duration), "error": job.error}


def _for_display(job: JobRun) -> JobRun:
    job.duration_text = duration_text(job.duration)
    job.percent_text = percent_text(job)
    job.chunks_text = chunks_text(job)
    job.kind_title = JOB_KINDS[job.kind].title if job.kind in JOB_KINDS else job.kind
    return job


def _filters(request) -> tuple[JobFilterForm, dict]:
    # An invalid filter (an unknown kind) is ignored, on the page and in its polling alike.
    form = JobFilterForm(request.GET or None)
    return form, form.cleaned_data if form.is_valid() else {}


@login_required
def job_list(request):
    roles.require_role(request, READERS)
    form, filters = _filters(request)
    page = page_of(request, selectors.job_list(kind=filters.get("kind"), status=filters.get("status")))
    for job in page:
        _for_display(job)
    return render(request, "jobs/job_list.html", {
        "form": form, "page": page, "may_rerun": roles.user_has_role(request.user, *RUNNERS),
        # Only the first page, newest first, takes in the runs started while it is open.
        "new_runs_query": urlencode({key: value for key, value in filters.items() if value}) if page.number == 1
        else None,
    })


def _number(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() else None


@login_required
def job_progress(request):
    """The progress of the runs named by ?ids=1,2,3 as JSON, for the page's polling.

    With ?after=<id> (and the page's kind and status filter), also the runs after that one that
    match the filter, oldest first, MAX_NEW at most, each with its row rendered (jobs/job_row.html)
    for the page to put on top of its table, and when there are some, the count of the runs the
    filter matches now, for its pager.
    """
    roles.require_role(request, READERS)
    ids = [number for part in request.GET.get("ids", "").split(",") if (number := _number(part)) is not None]
    answer = {"jobs": [_progress_of(job) for job in selectors.job_list(ids=ids[:MAX_POLLED])]}
    after = _number(request.GET.get("after", ""))
    if after is not None:
        _form, filters = _filters(request)
        matching = selectors.job_list(kind=filters.get("kind"), status=filters.get("status"))
        may_rerun = roles.user_has_role(request.user, *RUNNERS)
        answer["new"] = [{**_progress_of(job), "row": render_to_string(
            "jobs/job_row.html", {"job": _for_display(job), "may_rerun": may_rerun}, request=request)}
            for job in matching.filter(pk__gt=after).order_by("id")[:MAX_NEW]]
        if answer["new"]:
            answer["count"] = matching.count()
    return JsonResponse(answer)


@login_required
@require_POST
def job_rerun_view(request, job_id: int):
    roles.require_role(request, RUNNERS)
    # An end-of-day run is rerun as its own page does it: refused while another run of its date is under
    # way or once it has been rerun, and resuming its failed stage.
    kind = JobRun.objects.filter(pk=job_id).values_list("kind", flat=True).first()
    rerun = eod_run_rerun if kind == EOD else job_rerun
    try:
        job = rerun(job_id=job_id, started_by=request.user)
    except JobRun.DoesNotExist:
        messages.error(request, f"There is no job run {job_id}.")
    except BusinessRuleError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Run {job_id} rerun as job {job.pk}.")
    return redirect("jobs")
