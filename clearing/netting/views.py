"""Dashboard pages of clearing's netting (included by clearing/urls.py): runs, a run, obligations, an obligation.

The runs page starts a run (operations) with the service the API calls, and follows the queued
and running ones through the jobs page's progress endpoint (/jobs/progress/, static/js/clearing_runs.js).
Operations, compliance and accounting read every page.
"""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_POST

from backoffice.core import roles
from backoffice.core.exceptions import BusinessRuleError, ConflictError
from backoffice.core.forms import DateInput, ReferenceFilterForm, form_filters, page_of, with_all
from backoffice.core.jobs.models import JobRun
from clearing.models import Obligation
from clearing.netting import selectors
from clearing.netting import services as netting
from records.reference import selectors as reference_selectors

READERS = (roles.OPERATIONS, roles.COMPLIANCE, roles.ACCOUNTING)
RUNNERS = (roles.OPERATIONS,)
RUN_OBLIGATIONS_SHOWN = 50


class RunFilterForm(forms.Form):
    settlement_date = forms.DateField(required=False, label="Settlement date", widget=DateInput)
    status = forms.ChoiceField(required=False, choices=with_all(JobRun.Status.choices))


class RunStartForm(forms.Form):
    settlement_date = forms.DateField(label="Date to net", widget=DateInput)


def _filtered(request) -> bool:
    """Whether the page was asked for with a filter (even one naming nothing): which empty message to show."""
    return any(value.strip() for name, value in request.GET.items() if name != "page")


def _next_settlement_date():
    try:
        return netting.next_settlement_date(after=timezone.localdate())
    except LookupError:
        return None


def _run_list_page(request, *, start_form=None, status=200):
    roles.require_role(request, READERS)
    form = RunFilterForm(request.GET)
    runs = selectors.clearing_run_list(**form_filters(form))
    page = page_of(request, runs)
    page.object_list = selectors.clearing_runs_with_live_figures(page.object_list)
    for run in page.object_list:
        _for_display(run)
    may_run = roles.user_has_role(request.user, *RUNNERS)
    return render(request, "clearing/run_list.html", {
        "form": form, "page": page, "totals": selectors.clearing_run_totals(runs), "may_run": may_run,
        "start_form": start_form or RunStartForm(initial={"settlement_date": _next_settlement_date()}),
        "filtered": _filtered(request), "cutoff": settings.CLEARING_CUTOFF,
    }, status=status)


def _for_display(run):
    run.count_efficiency = selectors.efficiency(gross=run.trades_netted, net=run.obligations_created)
    run.value_efficiency = selectors.efficiency(gross=run.gross_value, net=run.net_value)
    run.active = run.job.status in (JobRun.Status.QUEUED, JobRun.Status.RUNNING)
    return run


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
        run = netting.clearing_run_start(settlement_date=day, started_by=request.user)
    except ConflictError as exc:
        messages.error(request, exc.message)
        return redirect("clearing:runs")
    except BusinessRuleError as exc:
        form.add_error("settlement_date" if exc.field == "settlement_date" else None, exc.message)
        return _run_list_page(request, start_form=form, status=400)
    if run.job.rerun_of_id:
        messages.success(request, f"Clearing run {run.pk} for {day:%Y-%m-%d} continued as job {run.job_id}: "
                                  f"job {run.job.rerun_of_id} had failed. It nets what is still left.")
    else:
        messages.success(request, f"Clearing run {run.pk} for {day:%Y-%m-%d} queued as job {run.job_id}: its "
                                  "progress shows below.")
    return redirect("clearing:runs")


@login_required
def run_detail(request, run_id: int):
    roles.require_role(request, READERS)
    run = selectors.clearing_run_get(run_id)
    if run is None:
        raise Http404("No such clearing run.")
    run = _for_display(selectors.clearing_runs_with_live_figures([run])[0])
    obligations = selectors.obligation_list(run_id=run.pk)
    return render(request, "clearing/run_detail.html", {
        "run": run, "by_currency": selectors.clearing_run_figures(run),
        "obligations": obligations[:RUN_OBLIGATIONS_SHOWN], "obligations_shown": RUN_OBLIGATIONS_SHOWN,
        "may_run": roles.user_has_role(request.user, *RUNNERS),
        "start_form": RunStartForm(initial={"settlement_date": run.settlement_date}),
    })


class ObligationFilterForm(ReferenceFilterForm):
    settlement_date = forms.DateField(required=False, label="Settlement date", widget=DateInput)
    account = forms.CharField(required=False, max_length=30, label="Account",
                              widget=forms.TextInput(attrs={"placeholder": "Account code", "class": "medium"}))
    counterparty = forms.CharField(required=False, max_length=30, label="Counterparty",
                                   widget=forms.TextInput(attrs={"placeholder": "Code (or its CCP)",
                                                                 "class": "medium"}))
    instrument = forms.CharField(required=False, max_length=20, label="Instrument",
                                 widget=forms.TextInput(attrs={"placeholder": "ISIN or symbol", "class": "medium"}))
    run_id = forms.IntegerField(required=False, min_value=1, label="Run",
                                widget=forms.TextInput(attrs={"class": "narrow", "placeholder": "id",
                                                              "inputmode": "numeric"}))
    status = forms.ChoiceField(required=False, choices=with_all(Obligation.Status.choices))

    reference_fields = ("account", "counterparty", "instrument")

    def clean_account(self):
        return self._resolve("account", reference_selectors.account_find, "account")

    def clean_counterparty(self):
        return self._resolve("counterparty", reference_selectors.counterparty_find, "counterparty")

    def clean_instrument(self):
        return self._resolve("instrument", reference_selectors.instruments_find, "instrument with ISIN or symbol")

    def obligation_filters(self) -> dict | None:
        filters = self.selector_filters()
        if filters is not None and "instrument" in filters:
            filters["instruments"] = filters.pop("instrument")
        return filters


@login_required
def obligation_list(request):
    roles.require_role(request, READERS)
    form = ObligationFilterForm(request.GET)
    filters = form.obligation_filters()
    obligations = selectors.obligation_list(**(filters or {}))
    if filters is None:
        obligations = obligations.none()
    page = page_of(request, obligations)
    return render(request, "clearing/obligation_list.html", {
        "form": form, "page": page, "totals": selectors.obligation_totals(obligations),
        "filtered": _filtered(request),
    })


@login_required
def obligation_detail(request, obligation_id: int):
    roles.require_role(request, READERS)
    obligation = selectors.obligation_get(obligation_id)
    if obligation is None:
        raise Http404("No such obligation.")
    trades = list(selectors.obligation_trades(obligation))
    return render(request, "clearing/obligation_detail.html", {"obligation": obligation, "trades": trades})


urlpatterns = [
    path("runs/", run_list, name="runs"),
    path("runs/start/", run_start, name="run-start"),
    path("runs/<int:run_id>/", run_detail, name="run-detail"),
    path("obligations/", obligation_list, name="obligations"),
    path("obligations/<int:obligation_id>/", obligation_detail, name="obligation-detail"),
]
