"""Dashboard pages of accounting/reconciliation (included by accounting/urls.py under /accounting/).

- reconciliation/: the latest run (as of, when, what it checked, its breaks), its breaks with
  filters, the history of runs, and Reconcile now (accounting and operations);
- reconciliation/<id>/: the same page for an earlier run;
- reconciliation/<id>/breaks.csv: a run's breaks (filtered as shown) as CSV;
- reconciliation/start/ (POST): start a run, with the service the API calls.

Accounting, operations and compliance read; accounting and operations reconcile.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounting.models import ReconciliationBreak
from accounting.reconciliation import selectors, services
from backoffice.core import roles
from backoffice.core.csv_export import csv_blocks, csv_lines
from backoffice.core.exceptions import BusinessRuleError
from backoffice.core.forms import DateInput, ReferenceFilterForm, page_of, with_all
from records.reference.selectors import account_find

READERS = (roles.ACCOUNTING, roles.OPERATIONS, roles.COMPLIANCE)
RUNNERS = (roles.ACCOUNTING, roles.OPERATIONS)
HISTORY_SHOWN = 30


class BreakFilterForm(ReferenceFilterForm):
    reference_fields = ("account",)

    kind = forms.ChoiceField(required=False, choices=with_all(ReconciliationBreak.Kind.choices, "All kinds"))
    account = forms.CharField(required=False, max_length=40, label="Account")

    def clean_account(self):
        account = self._resolve("account", account_find, "account")
        return account.code if account else ""


class ReconcileForm(forms.Form):
    as_of = forms.DateField(required=False, label="As of", widget=DateInput,
                            help_text="Today when empty.")


def _breaks(run, form: BreakFilterForm):
    filters = form.selector_filters()
    if filters is None:
        return selectors.reconciliation_break_list(run=run).none()
    return selectors.reconciliation_break_list(run=run, **filters)


def _page(request, *, run_id: int | None = None, reconcile_form=None, status=200):
    roles.require_role(request, READERS)
    if run_id is None:
        run = selectors.reconciliation_run_latest()
    else:
        run = selectors.reconciliation_run_get(run_id)
        if run is None:
            raise Http404("No such reconciliation run.")
    form = BreakFilterForm(request.GET)
    page = counts = None
    if run is not None:
        page = page_of(request, _breaks(run, form))
        counts = selectors.reconciliation_break_counts(run)
    return render(request, "accounting/reconciliation/reconciliation.html", {
        "run": run, "is_latest": run_id is None, "form": form, "page": page, "counts": counts,
        "filtered": any(value.strip() for name, value in request.GET.items() if name != "page"),
        "history": list(selectors.reconciliation_run_list()[:HISTORY_SHOWN]), "history_shown": HISTORY_SHOWN,
        "unfinished": list(selectors.reconciliation_jobs_unfinished()),
        "failed": selectors.reconciliation_job_failed_last(),
        "may_run": roles.user_has_role(request.user, *RUNNERS),
        "reconcile_form": reconcile_form or ReconcileForm(initial={"as_of": timezone.localdate()}),
    }, status=status)


@login_required
@require_GET
def reconciliation(request):
    return _page(request)


@login_required
@require_GET
def reconciliation_run(request, run_id: int):
    return _page(request, run_id=run_id)


@login_required
@require_POST
def reconciliation_start(request):
    roles.require_role(request, RUNNERS)
    form = ReconcileForm(request.POST)
    if not form.is_valid():
        return _page(request, reconcile_form=form, status=400)
    try:
        job = services.reconciliation_start(as_of=form.cleaned_data["as_of"], started_by=request.user)
    except BusinessRuleError as exc:
        form.add_error("as_of" if exc.field == "as_of" else None, exc.message)
        return _page(request, reconcile_form=form, status=400)
    messages.success(request, f"Reconciliation as of {job.parameters['as_of']} queued as job {job.pk}: its run "
                              "shows here when it completes.")
    return redirect("accounting:reconciliation")


@login_required
@require_GET
def reconciliation_breaks_csv(request, run_id: int):
    """Stream a run's breaks (the page's filters applied) as CSV, in the platform's one CSV format."""
    roles.require_role(request, READERS)
    run = selectors.reconciliation_run_get(run_id)
    if run is None:
        raise Http404("No such reconciliation run.")
    headers = [header for header, _path in selectors.BREAK_EXPORT_COLUMNS]
    lines = csv_lines(headers, selectors.reconciliation_break_export_rows(_breaks(run, BreakFilterForm(request.GET))))
    response = StreamingHttpResponse(csv_blocks(lines), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (f'attachment; filename="reconciliation-{run.pk}-breaks-'
                                       f'{run.as_of:%Y%m%d}.csv"')
    return response


urlpatterns = [
    path("reconciliation/", reconciliation, name="reconciliation"),
    path("reconciliation/start/", reconciliation_start, name="reconciliation-start"),
    path("reconciliation/<int:run_id>/", reconciliation_run, name="reconciliation-run"),
    path("reconciliation/<int:run_id>/breaks.csv", reconciliation_breaks_csv, name="reconciliation-breaks-csv"),
]
