"""Dashboard pages of settlements' runs (included by settlements/urls.py): the runs, a run.

The runs page starts a run (operations) with the service the API calls, and follows the queued and
running ones through the jobs page's progress endpoint (/jobs/progress/, static/js/clearing_runs.js).
Operations, compliance and accounting read every page.
"""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from backoffice.core import roles
from backoffice.core.exceptions import BusinessRuleError, ConflictError
from backoffice.core.forms import DateInput, form_filters, page_of, with_all
from backoffice.core.jobs.models import JobRun
from settlements.runs import selectors
from settlements.runs import services as runs

READERS = (roles.OPERATIONS, roles.COMPLIANCE, roles.ACCOUNTING)
RUNNERS = (roles.OPERATIONS,)
RUN_MOVEMENTS_SHOWN = 50
RUN_OPEN_SHOWN = 50


class RunFilterForm(forms.Form):
    settlement_date = forms.DateField(required=False, label="Settlement date", widget=DateInput)
    status = forms.ChoiceField(required=False, choices=with_all(JobRun.Status.choices))


class RunStartForm(forms.Form):
    settlement_date = forms.DateField(label="Date to settle", widget=DateInput)


def _filtered(request) -> bool:
    """Whether the page was asked for with a filter (even one naming nothing): which empty message to show."""
    return any(value.strip() for name, value in request.GET.items() if name != "page")


def _for_display(run):
    run.active = run.job.status in (JobRun.Status.QUEUED, JobRun.Status.RUNNING)
    run.is_confirmations = run.job.kind == selectors.CONFIRMATIONS
    return run


def _fails_url() -> str | None:
    try:
        return reverse("settlements:fails")
    except NoReverseMatch:
        return None


def _run_list_page(request, *, start_form=None, status=200):
    roles.require_role(request, READERS)
    form = RunFilterForm(request.GET)
    runs_found = selectors.settlement_run_list(**form_filters(form))
    page = page_of(request, runs_found)
    for run in page.object_list:
        _for_display(run)
    return render(request, "settlements/run_list.html", {
        "form": form, "page": page, "totals": selectors.settlement_run_totals(runs_found),
        "may_run": roles.user_has_role(request.user, *RUNNERS),
        "start_form": start_form or RunStartForm(initial={"settlement_date": timezone.localdate()}),
        "filtered": _filtered(request), "cutoff": settings.SETTLEMENT_CUTOFF,
    }, status=status)


@login_required
def run_list(request):
    return _run_list_page(request)


@login_required
@require_POST
def run_start(request):
    roles.require_role(request, RUNNERS)
    form = RunStartForm(request.POST)
    if not form.is_valid():
        return _run_list_page(request, start_form=form, status=400)
    day = form.cleaned_data["settlement_date"]
    try:
        run = runs.settlement_run_start(settlement_date=day, started_by=request.user)
    except ConflictError as exc:
        messages.error(request, exc.message)
        return redirect("settlements:runs")
    except BusinessRuleError as exc:
        form.add_error("settlement_date" if exc.field == "settlement_date" else None, exc.message)
        return _run_list_page(request, start_form=form, status=400)
    if run.job.rerun_of_id:
        messages.success(request, f"Settlement run {run.pk} for {day:%Y-%m-%d} continued as job {run.job_id}: "
                                  f"job {run.job.rerun_of_id} had failed. It settles what is still open.")
    else:
        messages.success(request, f"Settlement run {run.pk} for {day:%Y-%m-%d} queued as job {run.job_id}: "
                                  "its progress shows below.")
    return redirect("settlements:runs")


@login_required
def run_detail(request, run_id: int):
    roles.require_role(request, READERS)
    run = selectors.settlement_run_get(run_id)
    if run is None:
        raise Http404("No such settlement run.")
    run = _for_display(run)
    movements = selectors.settlement_run_movements(run)
    still_open = selectors.settlement_run_open_instructions(run)
    return render(request, "settlements/run_detail.html", {
        "run": run, "by_currency": selectors.settlement_run_figures(run),
        "movements": list(movements[:RUN_MOVEMENTS_SHOWN]), "movements_shown": RUN_MOVEMENTS_SHOWN,
        "movement_count": movements.count(),
        "still_open": list(still_open[:RUN_OPEN_SHOWN]), "open_shown": RUN_OPEN_SHOWN,
        "open_count": still_open.count(), "fails_url": _fails_url(),
        "may_run": roles.user_has_role(request.user, *RUNNERS),
    })


urlpatterns = [
    path("runs/", run_list, name="runs"),
    path("runs/start/", run_start, name="run-start"),
    path("runs/<int:run_id>/", run_detail, name="run-detail"),
]
