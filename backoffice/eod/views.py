"""The "End of day" pages: the history of EOD runs per date, a run's stages (live), start one, rerun a failed one.

Thin: the start and the rerun call the services the API calls. Operations start and rerun; operations,
compliance and accounting read. Progress comes from the jobs page's endpoint (/jobs/progress/,
static/js/eod.js), so a stage's child run updates in place, and the page reloads when a stage ends.
"""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from backoffice.core import roles
from backoffice.core.exceptions import BusinessRuleError, ConflictError
from backoffice.core.forms import DateInput, page_of, with_all
from backoffice.core.jobs.models import JobRun
from backoffice.dashboard.jobs import chunks_text, duration_text, percent_text
from backoffice.eod import selectors, services
from backoffice.eod.stages import STAGES

READERS = (roles.OPERATIONS, roles.COMPLIANCE, roles.ACCOUNTING)
RUNNERS = (roles.OPERATIONS,)


class EodFilterForm(forms.Form):
    settlement_date = forms.DateField(required=False, label="Settlement date", widget=DateInput)
    status = forms.ChoiceField(required=False, choices=with_all(JobRun.Status.choices))


class EodStartForm(forms.Form):
    settlement_date = forms.DateField(label="Settlement date", widget=DateInput)


def _display(job: JobRun) -> JobRun:
    job.duration_text = duration_text(job.duration)
    job.percent_text = percent_text(job)
    job.chunks_text = chunks_text(job)
    return job


def _stage_of_run(job: JobRun) -> str:
    """The stage a run is at ("settlement"), failed at, or "" once done or before it starts."""
    for planned, stage in zip(job.steps, STAGES, strict=False):
        if planned["done"] < planned["chunks"]:
            return stage.title if job.status in (JobRun.Status.RUNNING, JobRun.Status.FAILED) else ""
    return ""


def _list_page(request, *, start_form=None, status=200):
    roles.require_role(request, READERS)
    form = EodFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    runs = selectors.eod_run_list(settlement_date=filters.get("settlement_date"))
    if filters.get("status"):
        runs = runs.filter(status=filters["status"])
    page = page_of(request, runs)
    for job in page:
        _display(job)
        job.settlement_date = job.parameters.get("settlement_date", "")
        job.stage_text = _stage_of_run(job)
    return render(request, "eod/run_list.html", {
        "form": form, "page": page, "may_run": roles.user_has_role(request.user, *RUNNERS),
        "start_form": start_form or EodStartForm(initial={"settlement_date": timezone.localdate()}),
        "stages": STAGES, "eod_at": settings.EOD_AT,
    }, status=status)


@login_required
def run_list(request):
    return _list_page(request)


@login_required
@require_POST
def run_start(request):
    roles.require_role(request, RUNNERS)
    form = EodStartForm(request.POST)
    if not form.is_valid():
        return _list_page(request, start_form=form, status=400)
    day = form.cleaned_data["settlement_date"]
    try:
        job = services.eod_run_start(settlement_date=day, started_by=request.user)
    except ConflictError as exc:
        messages.error(request, exc.message)
        return redirect("eod:runs")
    except BusinessRuleError as exc:
        form.add_error("settlement_date" if exc.field == "settlement_date" else None, exc.message)
        return _list_page(request, start_form=form, status=400)
    if job.rerun_of_id:
        messages.success(request, f"End of day of {day:%Y-%m-%d} queued as run {job.pk}: it continues run "
                                  f"{job.rerun_of_id}, which failed, from its failed stage.")
    else:
        messages.success(request, f"End of day of {day:%Y-%m-%d} queued as run {job.pk}.")
    return redirect("eod:run-detail", job_id=job.pk)


def _run_or_404(job_id: int) -> JobRun:
    job = selectors.eod_run_get(job_id=job_id)
    if job is None:
        raise Http404("No such end-of-day run.")
    return job


@login_required
def run_detail(request, job_id: int):
    roles.require_role(request, READERS)
    job = _display(_run_or_404(job_id))
    stages = selectors.eod_stages(job)
    for view in stages:
        if view.child is not None:
            _display(view.child)
    failed = next((view for view in stages if view.status == JobRun.Status.FAILED), None)
    return render(request, "eod/run_detail.html", {
        "job": job, "settlement_date": job.parameters.get("settlement_date", ""), "stages": stages,
        "failed_stage": failed, "reruns": list(job.reruns.order_by("id").values_list("id", flat=True)),
        "may_run": roles.user_has_role(request.user, *RUNNERS),
    })


@login_required
def run_rerun(request, job_id: int):
    """GET: what the rerun will do, to confirm; POST: rerun (operations)."""
    roles.require_role(request, RUNNERS)
    job = _run_or_404(job_id)
    if request.method == "POST":
        try:
            rerun = services.eod_run_rerun(job_id=job.pk, started_by=request.user)
        except BusinessRuleError as exc:
            messages.error(request, exc.message)
            return redirect("eod:run-detail", job_id=job.pk)
        messages.success(request, f"Run {job.pk} rerun as run {rerun.pk}: it resumes the failed stage.")
        return redirect("eod:run-detail", job_id=rerun.pk)
    stages = selectors.eod_stages(job)
    failed = next((view for view in stages if view.status == JobRun.Status.FAILED), None)
    return render(request, "eod/rerun_confirm.html", {
        "job": job, "settlement_date": job.parameters.get("settlement_date", ""), "failed_stage": failed,
        "later": [view for view in stages if view.status == selectors.NOT_STARTED],
        "done": [view for view in stages if view.status == JobRun.Status.COMPLETED],
    })
