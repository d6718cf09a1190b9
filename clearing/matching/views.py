"""Dashboard pages of clearing's matching (included by clearing/urls.py): confirmations, their upload, the breaks.

- confirmations: every confirmation, newest first, filtered, with counts per match status;
- confirmation-upload: a counterparty's CSV file of confirmations (the API's fields as columns),
  each row's result shown and downloadable as CSV; a malformed row is reported and the good rows
  still go in;
- breaks: the open confirmations (MISMATCHED, UNMATCHED), oldest first, with their age in days;
- break-detail: a confirmation beside the trade it was compared with, field by field, and the
  forms that resolve it (force-match: a maker-checker proposal; reject; request a new one);
- match-now: start the matching job (clearing-match).

Operations, compliance and accounting read them; operations resolves and starts the job; front
office and operations upload (the roles of POST /api/v1/confirmations/).
"""

import csv
import io

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from backoffice.core import roles
from backoffice.core.csv_export import csv_lines
from backoffice.core.exceptions import BusinessRuleError, ConflictError
from backoffice.core.forms import DateInput, DateRangeMixin, ReferenceFilterForm, page_of, with_all
from backoffice.core.jobs.services import job_start
from backoffice.core.keyset import keyset_page_of
from clearing.matching import selectors
from clearing.matching.input import CSV_COLUMNS, UploadError, parse_confirmation_row, read_confirmation_csv
from clearing.matching.jobs import MATCHING
from clearing.matching.services import breaks
from clearing.matching.services import confirmations as services
from clearing.models import Confirmation
from records.approvals import kinds as approval_kinds
from records.approvals import selectors as approval_selectors
from records.reference import selectors as reference_selectors

READERS = (roles.OPERATIONS, roles.COMPLIANCE, roles.ACCOUNTING)
RESOLVERS = (roles.OPERATIONS,)
UPLOADERS = (roles.FRONT_OFFICE, roles.OPERATIONS)
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
UPLOAD_SESSION_KEY = "clearing_confirmation_upload"
RESULT_COLUMNS = ("line", "counterparty", "counterparty_ref", "status", "confirmation", "match_status", "trade",
                  "errors")


class _ReferenceFilters(ReferenceFilterForm):
    counterparty = forms.CharField(required=False, max_length=30, label="Counterparty",
                                   widget=forms.TextInput(attrs={"placeholder": "Code", "class": "medium"}))
    account = forms.CharField(required=False, max_length=30, label="Account",
                              widget=forms.TextInput(attrs={"placeholder": "Account code", "class": "medium"}))
    instrument = forms.CharField(required=False, max_length=20, label="Instrument",
                                 widget=forms.TextInput(attrs={"placeholder": "ISIN or symbol", "class": "medium"}))

    reference_fields = ("counterparty", "account", "instrument")

    def clean_account(self):
        return self._resolve("account", reference_selectors.account_find, "account")

    def clean_instrument(self):
        return self._resolve("instrument", reference_selectors.instruments_find, "instrument with ISIN or symbol")

    def clean_counterparty(self):
        return self._resolve("counterparty", reference_selectors.counterparty_find, "counterparty")

    def query_filters(self) -> dict | None:
        """The selectors' keyword arguments, or None when a reference names nothing (nothing can match)."""
        filters = self.selector_filters()
        if filters is not None and "instrument" in filters:
            filters["instruments"] = filters.pop("instrument")
        return filters


class ConfirmationFilterForm(DateRangeMixin, _ReferenceFilters):
    match_status = forms.ChoiceField(required=False, label="Match status",
                                     choices=with_all(Confirmation.MatchStatus.choices))
    counterparty_ref = forms.CharField(required=False, max_length=64, label="Their ref", widget=forms.TextInput(
        attrs={"placeholder": "Exact, or prefix*", "class": "medium"}))
    date_from = forms.DateField(required=False, label="Trade date from", widget=DateInput)
    date_to = forms.DateField(required=False, label="Trade date to", widget=DateInput)
    source = forms.ChoiceField(required=False, choices=with_all(Confirmation.Source.choices))

    field_order = ["match_status", "counterparty", "counterparty_ref", "account", "instrument", "date_from", "date_to",
                   "source"]


class BreakFilterForm(_ReferenceFilters):
    match_status = forms.ChoiceField(required=False, label="Break", choices=with_all(
        [(status, label) for status, label in Confirmation.MatchStatus.choices
         if status in selectors.OPEN_STATUSES], label="Both"))
    min_age_days = forms.IntegerField(required=False, min_value=1, max_value=3650, label="Aged at least (days)",
                                      widget=forms.NumberInput(attrs={"class": "narrow"}))

    field_order = ["match_status", "counterparty", "account", "instrument", "min_age_days"]


def _filtered(request) -> bool:
    return any(value.strip() for name, value in request.GET.items() if name not in ("page", "before", "after"))


@login_required
def confirmation_list(request):
    roles.require_role(request, READERS)
    form = ConfirmationFilterForm(request.GET)
    filters = form.query_filters()
    rows = selectors.confirmation_search(**(filters or {}))
    if filters is None:
        rows = rows.none()
    page = keyset_page_of(request, rows)
    return render(request, "clearing/confirmation_list.html", {
        "form": form, "page": page, "counts": selectors.confirmation_status_counts(rows),
        "filtered": _filtered(request), "may_match": roles.user_has_role(request.user, *RESOLVERS),
        "may_upload": roles.user_has_role(request.user, *UPLOADERS),
    })


@login_required
def break_list(request):
    roles.require_role(request, READERS)
    form = BreakFilterForm(request.GET)
    filters = form.query_filters()
    rows = selectors.break_queue(**(filters or {}))
    if filters is None:
        rows = rows.none()
    page = page_of(request, rows)
    today = timezone.localdate()
    for confirmation in page.object_list:
        confirmation.age = selectors.age_days(confirmation.received_at, today=today)
    return render(request, "clearing/break_list.html", {
        "form": form, "page": page, "totals": selectors.break_totals(rows), "filtered": _filtered(request),
        "may_match": roles.user_has_role(request.user, *RESOLVERS),
    })


# A break and its resolution ---------------------------------------------------------------------

class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=1000, widget=forms.TextInput(attrs={"class": "wide"}))


class ForceMatchForm(ReasonForm):
    trade = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Trade")
    other_trade = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1, label="Other trade (id)",
                                     widget=forms.NumberInput(attrs={"class": "narrow"}))

    field_order = ["trade", "other_trade", "reason"]

    def __init__(self, *args, candidates=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["trade"].choices = [("", "(another trade: give its id)")] + [
            (trade.pk, _trade_choice(trade)) for trade in candidates]

    def clean(self):
        cleaned = super().clean()
        if not self.errors and cleaned.get("other_trade") is None and cleaned.get("trade") is None:
            self.add_error("trade", "Choose a trade, or give its id.")
        return cleaned

    def trade_id(self) -> int:
        return self.cleaned_data.get("other_trade") or self.cleaned_data["trade"]


def _trade_choice(trade) -> str:
    return (f"#{trade.pk} {trade.external_ref} · {trade.side} {trade.quantity.normalize():f} "
            f"@ {trade.price.normalize():f} · {trade.account.code} · settles {trade.settlement_date:%Y-%m-%d}")


def _confirmation_or_404(confirmation_id: int) -> Confirmation:
    confirmation = selectors.confirmation_get(confirmation_id)
    if confirmation is None:
        raise Http404("No such confirmation.")
    return confirmation


def _break_page(request, confirmation: Confirmation, *, forms_given=None, status=200):
    roles.require_role(request, READERS)
    is_open = confirmation.match_status in selectors.OPEN_STATUSES
    may_resolve = is_open and roles.user_has_role(request.user, *RESOLVERS)
    pending = approval_selectors.change_request_pending(kind=breaks.FORCE_MATCH, target_id=confirmation.pk)
    candidates = selectors.break_candidate_trades(confirmation) if may_resolve else []
    given = forms_given or {}
    return render(request, "clearing/break_detail.html", {
        "confirmation": confirmation, "fields": selectors.break_fields(confirmation), "is_open": is_open,
        "age": selectors.age_days(confirmation.received_at) if is_open else None,
        "pending": pending, "candidates": candidates,
        "may_resolve": may_resolve and pending is None,
        "may_force_match": may_resolve and pending is None
        and approval_kinds.may_propose(request.user, breaks.FORCE_MATCH),
        "force_form": given.get("force") or ForceMatchForm(prefix="force", candidates=candidates, initial={
            "trade": candidates[0].pk if candidates else None}),
        "reject_form": given.get("reject") or ReasonForm(prefix="reject"),
        "renew_form": given.get("renew") or ReasonForm(prefix="renew"),
    }, status=status)


@login_required
def break_detail(request, confirmation_id: int):
    return _break_page(request, _confirmation_or_404(confirmation_id))


_PREFIXES = {breaks.FORCE_MATCH_ACTION: "force", breaks.REJECT_ACTION: "reject", breaks.REQUEST_NEW_ACTION: "renew"}


@login_required
@require_POST
def break_resolve(request, confirmation_id: int):
    """Resolve a break with one of the three forms of its page (the action is the form's)."""
    roles.require_role(request, RESOLVERS)
    confirmation = _confirmation_or_404(confirmation_id)
    action = request.POST.get("action", "")
    if action not in _PREFIXES:
        raise Http404("No such resolution.")
    prefix = _PREFIXES[action]
    if action == breaks.FORCE_MATCH_ACTION:
        form = ForceMatchForm(request.POST, prefix=prefix, candidates=selectors.break_candidate_trades(confirmation))
    else:
        form = ReasonForm(request.POST, prefix=prefix)
    if form.is_valid():
        try:
            resolution = breaks.confirmation_resolve(
                actor=request.user, confirmation_id=confirmation.pk, action=action,
                reason=form.cleaned_data["reason"],
                trade_id=form.trade_id() if action == breaks.FORCE_MATCH_ACTION else None)
        except BusinessRuleError as exc:
            if isinstance(exc, ConflictError):
                messages.error(request, exc.message)
                return redirect("clearing:break-detail", confirmation_id=confirmation.pk)
            field = exc.field if exc.field in form.fields else ("other_trade" if exc.field == "trade_id" else None)
            for message in exc.messages:
                form.add_error(field, message)
        else:
            label = f"{confirmation.counterparty.code} {confirmation.counterparty_ref}"
            if resolution.change is not None:
                messages.success(request, f"Force-match of confirmation {label} proposed as change "
                                          f"#{resolution.change.pk}: it is matched once another operations user "
                                          "approves it.")
                return redirect("clearing:break-detail", confirmation_id=confirmation.pk)
            done = ("rejected" if action == breaks.REJECT_ACTION
                    else "rejected, and a new confirmation requested from the counterparty")
            messages.success(request, f"Confirmation {label} {done}.")
            return redirect("clearing:breaks")
    return _break_page(request, confirmation, forms_given={prefix: form}, status=400)


@login_required
@require_POST
def match_now(request):
    """Start the matching job over every open confirmation (the "Match now" button)."""
    roles.require_role(request, RESOLVERS)
    job = job_start(kind=MATCHING, started_by=request.user)
    messages.success(request, f"Matching queued as job {job.pk}: open confirmations are matched again when a worker "
                              "has run it (see Batch jobs).")
    back = request.POST.get("next", "")
    return redirect(back if back in (reverse("clearing:breaks"), reverse("clearing:confirmations"))
                    else "clearing:confirmations")


# Upload -------------------------------------------------------------------------------------------

class UploadForm(forms.Form):
    file = forms.FileField(label="CSV file", help_text=f"Columns: {', '.join(CSV_COLUMNS)} (trade_ref optional).")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(f"The file is over {MAX_UPLOAD_BYTES // (1024 * 1024)} MB: split it.")
        return upload


def _errors_text(errors: dict) -> str:
    return "; ".join(f"{field}: {' '.join(messages_)}" if field != "non_field_errors" else " ".join(messages_)
                     for field, messages_ in errors.items())


def _upload_results(request, content: bytes) -> list[dict]:
    """Parse the file's rows, submit the good ones as one batch, and return a result per row, in file order."""
    rows, parsed = [], []
    for line, row in read_confirmation_csv(content):
        item, errors = parse_confirmation_row(row)
        result = {"line": line, "counterparty": (row.get("counterparty") or "").strip(),
                  "counterparty_ref": (row.get("counterparty_ref") or "").strip(), "status": "rejected",
                  "confirmation": None, "match_status": "", "trade": None, "errors": _errors_text(errors)}
        if item is not None:
            parsed.append((len(rows), item))
        rows.append(result)
    if not rows:
        raise UploadError("The file has a header but no rows.")
    for index, outcome in services.confirmation_submit_batch(submitted_by=request.user, items=parsed,
                                                             source=Confirmation.Source.UPLOAD).items():
        rows[index].update(status=outcome.status, confirmation=outcome.confirmation_id,
                           match_status=outcome.match_status or "", trade=outcome.trade_id,
                           errors=_errors_text(outcome.errors))
    return rows


@login_required
def confirmation_upload(request):
    roles.require_role(request, UPLOADERS)
    results, status = None, 200
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                results = _upload_results(request, upload.read())
            except UploadError as exc:
                form.add_error("file", str(exc))
            else:
                request.session[UPLOAD_SESSION_KEY] = {"name": upload.name, "rows": results}
        if results is None:
            status = 400
    counts = {}
    for row in results or []:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    return render(request, "clearing/confirmation_upload.html", {
        "form": form, "results": results, "counts": counts, "columns": CSV_COLUMNS,
        "may_read": roles.user_has_role(request.user, *READERS),
    }, status=status)


@login_required
def confirmation_upload_results(request):
    """The last upload's results (this session's) as CSV: a row per line of the file."""
    roles.require_role(request, UPLOADERS)
    last = request.session.get(UPLOAD_SESSION_KEY)
    if not last:
        raise Http404("No upload in this session.")
    lines = csv_lines(RESULT_COLUMNS, ([row[name] for name in RESULT_COLUMNS] for row in last["rows"]))
    response = HttpResponse("".join(lines), content_type="text/csv; charset=utf-8")
    stem = last["name"].rsplit(".", 1)[0] if last.get("name") else "confirmations"
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in stem)[:60] or "confirmations"
    response["Content-Disposition"] = f'attachment; filename="{safe}-results.csv"'
    return response


def sample_csv() -> str:
    """A one-row example of the upload format (shown on the page)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerow(["BRKR-A", "CONF-000123", "ACC-001", "US0378331005", "SELL", "100", "189.25", "2026-11-20",
                     "2026-11-23", "OMS-000123"])
    return out.getvalue()


urlpatterns = [
    path("confirmations/", confirmation_list, name="confirmations"),
    path("confirmations/upload/", confirmation_upload, name="confirmation-upload"),
    path("confirmations/upload/results.csv", confirmation_upload_results, name="confirmation-upload-results"),
    path("confirmations/match/", match_now, name="match-now"),
    path("breaks/", break_list, name="breaks"),
    path("breaks/<int:confirmation_id>/", break_detail, name="break-detail"),
    path("breaks/<int:confirmation_id>/resolve/", break_resolve, name="break-resolve"),
]
