"""Dashboard pages of the audit trail: search, one record's before/after, the chain's status.

Compliance, operations and accounting see them (as the audit API). Verifying the chain is a
batch job: the button queues it (in eager mode it runs at once) and the page shows the latest
recorded result.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from backoffice.core import roles
from backoffice.core.forms import DateInput, DateRangeMixin
from backoffice.core.jobs.services import job_start
from backoffice.core.keyset import keyset_page_of
from records.audit import selectors as audit_selectors
from records.audit.jobs import AUDIT_VERIFY

AUDIT_READERS = (roles.COMPLIANCE, roles.OPERATIONS, roles.ACCOUNTING)


def _require_reader(request) -> None:
    if not roles.user_has_role(request.user, *AUDIT_READERS):
        raise PermissionDenied("Your role does not allow the audit trail.")


class AuditFilterForm(DateRangeMixin, forms.Form):
    record_type = forms.CharField(required=False, max_length=100, label="Record type",
                                  widget=forms.TextInput(attrs={"placeholder": "records.trade", "class": "medium"}))
    record_id = forms.CharField(required=False, max_length=100, label="Record id",
                                widget=forms.TextInput(attrs={"class": "short"}))
    actor = forms.CharField(required=False, max_length=150, label="Actor",
                            widget=forms.TextInput(attrs={"placeholder": "username or job:name", "class": "medium"}))
    action = forms.ChoiceField(required=False)
    correlation_id = forms.CharField(required=False, max_length=100, label="Request or job",
                                     widget=forms.TextInput(attrs={"placeholder": "req:… or job:…"}))
    date_from = forms.DateField(required=False, label="From", widget=DateInput)
    date_to = forms.DateField(required=False, label="To", widget=DateInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [("", "All"), *((a, a.title()) for a in audit_selectors.audit_actions())]

    def clean_record_type(self):
        return self.cleaned_data["record_type"].strip().lower()

    def search_filters(self) -> dict | None:
        """The valid filters (stripped), or None when the form is invalid: then nothing is listed."""
        if not self.is_valid():
            return None
        return {name: value.strip() if isinstance(value, str) else value
                for name, value in self.cleaned_data.items() if value not in (None, "")}


@login_required
def audit_page(request):
    _require_reader(request)
    form = AuditFilterForm(request.GET)
    filters = form.search_filters()
    rows = audit_selectors.audit_search(**(filters or {}))
    if filters is None:
        rows = rows.none()
    page = keyset_page_of(request, rows)
    return render(request, "records/audit.html", {
        "form": form, "page": page, "chain": audit_selectors.audit_chain_status(),
    })


@login_required
def audit_detail(request, record_id: int):
    _require_reader(request)
    record = audit_selectors.audit_record_get(record_id)
    if record is None:
        raise Http404("No such audit record.")
    tombstone = audit_selectors.audit_is_tombstone(record)
    return render(request, "records/audit_detail.html", {
        "record": record,
        "diff": [] if tombstone else audit_selectors.audit_diff(record),
        "tombstone": tombstone,
        "tombstone_valid": tombstone and audit_selectors.audit_tombstone_valid(record),
        "history": audit_selectors.audit_history(record),
        "same_cause": audit_selectors.audit_same_cause(record),
    })


@login_required
@require_POST
def audit_verify(request):
    _require_reader(request)
    # A batch job like the others: queued to a worker (run at once in eager mode) after this commits.
    job = job_start(kind=AUDIT_VERIFY, started_by=request.user)
    messages.success(request, f"Chain verification queued as job {job.pk}: the result appears below when the "
                              "worker has run it.")
    return redirect("records:audit")
