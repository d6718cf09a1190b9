"""The surveillance page (included by compliance/urls.py): /compliance/surveillance/ (compliance:surveillance).

Runs, newest first, each with its status, duration and per-scenario counts (alerts raised, and hits already
alerted by an earlier run); filters by trade date and status; "Run surveillance" for a date (compliance and
operations; accounting reads). Thin: parse, call one service or selector, shape.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from backoffice.core import roles
from backoffice.core.exceptions import BusinessRuleError
from backoffice.core.forms import DateInput, page_of, with_all
from backoffice.core.jobs.models import JobRun
from compliance.surveillance import selectors, services
from compliance.surveillance.scenarios import weekday_shift

READERS = (roles.COMPLIANCE, roles.OPERATIONS, roles.ACCOUNTING)
RUNNERS = (roles.COMPLIANCE, roles.OPERATIONS)
SCENARIO_TITLES = {"wash-trades": "Wash trades", "large-trades": "Large trades", "structuring": "Structuring",
                   "marking-close": "Marking the close", "fail-close-out": "Fails past close-out"}


class RunFilterForm(forms.Form):
    trade_date = forms.DateField(required=False, label="Trade date", widget=DateInput)
    status = forms.ChoiceField(required=False, label="Status", choices=with_all(JobRun.Status.choices, "Any status"))


class RunForm(forms.Form):
    trade_date = forms.DateField(label="Trade date", widget=DateInput)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "run-%s")  # the filter bar on the same page has a trade_date field too
        super().__init__(*args, **kwargs)


def _alerts_url() -> str | None:
    try:
        return reverse("compliance:alerts")
    except NoReverseMatch:
        return None


def _row(job: JobRun) -> dict:
    by_step = {row["step"]: row for row in selectors.surveillance_run_scenarios(job)}
    return {"job": job, "trade_date": (job.parameters or {}).get("trade_date", ""),
            "scenarios": [by_step.get(step) for step in services.STEP_NAMES],
            "totals": selectors.surveillance_run_totals(job),
            "penalty": by_step.get("fail-close-out") or {}}


def _page(request, *, run_form=None, status=200):
    roles.require_role(request, READERS)
    form = RunFilterForm(request.GET)
    filters = form.cleaned_data if form.is_valid() else None
    runs = selectors.surveillance_run_list(**{k: v for k, v in (filters or {}).items() if v})
    if filters is None:
        runs = runs.none()
    page = page_of(request, runs)
    page.object_list = [_row(job) for job in page.object_list]
    latest = selectors.surveillance_run_list(status=JobRun.Status.COMPLETED).first()
    latest = _row(latest) if latest else None
    titles = [SCENARIO_TITLES[step] for step in services.STEP_NAMES]
    may_run = roles.user_has_role(request.user, *RUNNERS)
    today = timezone.localdate()
    return render(request, "compliance/surveillance.html", {
        "form": form, "page": page, "may_run": may_run, "latest": latest,
        "latest_rows": list(zip(titles, latest["scenarios"], strict=True)) if latest else [],
        "run_form": run_form or (RunForm(initial={"trade_date": weekday_shift(today, 0)}) if may_run else None),
        "titles": titles, "alerts_url": _alerts_url(),
        "filtered": any(value.strip() for name, value in request.GET.items() if name != "page"),
        "under_way": selectors.surveillance_run_list().filter(
            status__in=(JobRun.Status.QUEUED, JobRun.Status.RUNNING)).count(),
    }, status=status)


@login_required
def surveillance(request):
    return _page(request)


@login_required
@require_POST
def surveillance_run(request):
    roles.require_role(request, RUNNERS)
    form = RunForm(request.POST)
    if form.is_valid():
        try:
            job = services.surveillance_run_start(trade_date=form.cleaned_data["trade_date"], started_by=request.user)
        except BusinessRuleError as exc:  # a refused date (400) or a run under way (409)
            form.add_error("trade_date", exc.message)
        else:
            messages.success(request, f"Surveillance of {job.parameters['trade_date']} is queued (job {job.pk}): "
                                      "its counts show here when it completes.")
            return redirect("compliance:surveillance")
    return _page(request, run_form=form, status=400)


urlpatterns = [
    path("surveillance/", surveillance, name="surveillance"),
    path("surveillance/run/", surveillance_run, name="surveillance-run"),
]
