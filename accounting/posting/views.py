"""Dashboard page of accounting's posting (included by accounting/urls.py): runs, backlog, rules, and the
buttons that post now, mark to market and run the accounting end of day (the services the API calls)."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounting.posting import selectors, services
from backoffice.core import roles
from backoffice.core.exceptions import BusinessRuleError, ConflictError
from backoffice.core.forms import DateInput, form_filters, page_of, with_all
from backoffice.core.jobs.models import JobRun

READERS = (roles.ACCOUNTING, roles.OPERATIONS, roles.COMPLIANCE)
RUNNERS = (roles.ACCOUNTING, roles.OPERATIONS)
KIND_LABELS = {services.POSTING: "Posting", services.MARK_TO_MARKET: "Mark to market", services.EOD: "End of day"}


class RunFilterForm(forms.Form):
    kind = forms.ChoiceField(required=False, choices=with_all(list(KIND_LABELS.items())))


class AsOfForm(forms.Form):
    as_of = forms.DateField(label="As of", widget=DateInput)
    what = forms.ChoiceField(choices=[("mtm", "Mark to market"), ("eod", "End of day")], widget=forms.HiddenInput)


def _for_display(job: JobRun) -> JobRun:
    job.kind_label = KIND_LABELS.get(job.kind, job.kind)
    job.active = job.status in (JobRun.Status.QUEUED, JobRun.Status.RUNNING)
    job.posted = sum(chunk.get("entries", 0) for chunk in job.result or [])
    job.reversed = sum(chunk.get("reversed", 0) for chunk in job.result or [])
    job.unpostable = selectors.posting_unpostable(job)
    breaks = [chunk["breaks"] for chunk in job.result or [] if chunk.get("step") == "reconcile"]
    job.breaks = breaks[0] if breaks else None
    job.as_of = job.parameters.get("as_of", "")
    return job


def _page(request, *, as_of_form=None, status=200):
    roles.require_role(request, READERS)
    form = RunFilterForm(request.GET)
    page = page_of(request, selectors.posting_run_list(**form_filters(form)))
    for job in page.object_list:
        _for_display(job)
    backlog = selectors.posting_backlog()
    return render(request, "accounting/posting/posting.html", {
        "form": form, "page": page, "backlog": backlog, "backlog_total": sum(backlog.values()),
        "rules": selectors.posting_rules(), "may_run": roles.user_has_role(request.user, *RUNNERS),
        "as_of_form": as_of_form or AsOfForm(initial={"as_of": timezone.localdate()}),
        "every_minutes": round(settings.ACCOUNTING_POSTING_SECONDS / 60, 1), "eod_at": settings.ACCOUNTING_EOD_AT,
    }, status=status)


@login_required
def posting(request):
    return _page(request)


@login_required
@require_POST
def post_now(request):
    roles.require_role(request, RUNNERS)
    try:
        job = services.posting_run_start(started_by=request.user)
    except ConflictError as exc:
        messages.error(request, exc.message)
        return redirect("accounting:posting")
    messages.success(request, f"Posting run queued as job {job.pk}: its progress shows below.")
    return redirect("accounting:posting")


@login_required
@require_POST
def valuation_start(request):
    roles.require_role(request, RUNNERS)
    form = AsOfForm(request.POST)
    if not form.is_valid():
        return _page(request, as_of_form=form, status=400)
    as_of, what = form.cleaned_data["as_of"], form.cleaned_data["what"]
    start = services.accounting_eod_start if what == "eod" else services.mark_to_market_start
    try:
        job = start(as_of=as_of, started_by=request.user)
    except BusinessRuleError as exc:
        form.add_error("as_of" if exc.field == "as_of" else None, exc.message)
        return _page(request, as_of_form=form, status=400)
    label = "End of day" if what == "eod" else "Mark to market"
    messages.success(request, f"{label} as of {as_of:%Y-%m-%d} queued as job {job.pk}.")
    return redirect("accounting:posting")


urlpatterns = [
    path("posting/", posting, name="posting"),
    path("posting/post/", post_now, name="posting-post"),
    path("posting/valuation/", valuation_start, name="posting-valuation"),
]
