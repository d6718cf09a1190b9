"""Dashboard pages of accounting/journals: the journal (filters, keyset pages, totals) and its CSV (every entry that
matches, one row per line, streamed), one entry (its lines, its reversal links, where it came from, and a form
proposing its reversal), and the manual-entry form.

Accounting, operations and compliance read; accounting proposes manual entries and reversals (maker-checker:
"journal.manual", "journal.reversal"). Thin: parse, call one service or selector, shape; a refusal shows on
the form, never as a 500.
"""

from decimal import Decimal

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounting.chart import selectors as chart_selectors
from accounting.journals import selectors
from accounting.journals.kinds import JOURNAL_MANUAL, JOURNAL_REVERSAL
from accounting.journals.validators import ManualEntryInvalid, manual_entry_parse
from accounting.models import JournalEntry
from accounting.posting.books import base_currency
from backoffice.core import roles
from backoffice.core.csv_export import csv_blocks, csv_lines
from backoffice.core.exceptions import BusinessRuleError, ConflictError
from backoffice.core.forms import DateInput, DateRangeMixin, form_filters, with_all
from backoffice.core.keyset import keyset_page_of
from records.approvals import kinds as approval_kinds
from records.approvals import services as approvals

READERS = (roles.ACCOUNTING, roles.OPERATIONS, roles.COMPLIANCE)
LINE_ROWS = 6


# --- the journal ---

class JournalFilterForm(DateRangeMixin, forms.Form):
    date_from = forms.DateField(required=False, label="From", widget=DateInput)
    date_to = forms.DateField(required=False, label="To", widget=DateInput)
    source = forms.CharField(required=False, max_length=40, label="Source", widget=forms.TextInput(
        attrs={"placeholder": "TRADE or TRADE:123", "class": "medium", "list": "source-types"}))
    rule = forms.CharField(required=False, max_length=40, label="Rule",
                           widget=forms.TextInput(attrs={"placeholder": "e.g. TRADE_BUY", "class": "medium"}))
    gl_account = forms.CharField(required=False, max_length=20, label="GL account",
                                 widget=forms.TextInput(attrs={"placeholder": "Code", "class": "short"}))
    account = forms.CharField(required=False, max_length=30, label="Account",
                              widget=forms.TextInput(attrs={"placeholder": "Account code", "class": "medium"}))
    currency = forms.CharField(required=False, max_length=3, label="Ccy",
                               widget=forms.TextInput(attrs={"placeholder": "USD", "class": "narrow"}))

    def clean_source(self):
        value = (self.cleaned_data.get("source") or "").strip()
        if value:
            try:
                selectors.parse_source(value)
            except BusinessRuleError as exc:
                raise forms.ValidationError(exc.message) from None
        return value

    def clean_currency(self):
        return (self.cleaned_data.get("currency") or "").strip().upper()


def _page_totals(entries) -> list[dict]:
    per: dict[str, dict] = {}
    for entry in entries:
        for line in entry.lines.all():
            row = per.setdefault(line.currency, {"currency": line.currency, "debits": Decimal(0),
                                                 "credits": Decimal(0)})
            row["debits" if line.amount > 0 else "credits"] += abs(line.amount)
    return [per[currency] for currency in sorted(per)]


@login_required
def journal_entry_list(request):
    roles.require_role(request, READERS)
    form = JournalFilterForm(request.GET)
    filters = form_filters(form)
    invalid = bool(form.errors)
    rows = selectors.journal_entry_list(**filters, newest_posted_first=True)
    if invalid:
        rows = rows.none()
    page = keyset_page_of(request, rows)
    filtered = bool(filters) or invalid
    totals, base = selectors.journal_entry_totals(rows) if filters and not invalid else (None, None)
    return render(request, "accounting/journals/journal_list.html", {
        "form": form, "page": page, "page_totals": _page_totals(page.rows), "totals": totals, "base_total": base,
        "base_currency": base_currency(), "filtered": filtered, "sources": JournalEntry.Source.choices,
        "may_propose": approval_kinds.may_propose(request.user, JOURNAL_MANUAL),
    })


@login_required
def journal_entry_csv(request):
    """Every entry of the journal page's filters (all pages), one CSV row per line, streamed (core.csv_export)."""
    roles.require_role(request, READERS)
    # The list's filters, read as journal_entry_list reads them: an invalid one matches nothing.
    form = JournalFilterForm(request.GET)
    filters = form_filters(form)
    rows = selectors.journal_entry_list(**filters, with_lines=False, newest_posted_first=True)
    if form.errors:
        rows = rows.none()
    lines = csv_lines([name for name, _expression in selectors.JOURNAL_LINE_EXPORT],
                      selectors.journal_line_export(rows))
    response = StreamingHttpResponse(csv_blocks(lines), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="journal-{timezone.localtime():%Y%m%d-%H%M%S}.csv"'
    return response


# --- one entry ---

class ReversalForm(forms.Form):
    entry_date = forms.DateField(required=False, label="Reversal date", widget=DateInput,
                                 help_text="Empty: the day it is approved.")
    reason = forms.CharField(max_length=1000, label="Reason", widget=forms.TextInput(
        attrs={"class": "wide", "placeholder": "e.g. booked twice"}))


def _entry_or_404(pk: int) -> JournalEntry:
    entry = selectors.journal_entry_get(pk)
    if entry is None:
        raise Http404("No such journal entry.")
    return entry


def _entry_page(request, entry, *, reversal_form=None, status=200):
    roles.require_role(request, READERS)
    lines = list(entry.lines.all())
    return render(request, "accounting/journals/journal_detail.html", {
        "entry": entry, "lines": lines, "source": selectors.source_link(entry),
        "debits": sum((line.amount for line in lines if line.amount > 0), Decimal(0)),
        "base_debits": sum((line.base_amount for line in lines if line.base_amount > 0), Decimal(0)),
        "base_currency": base_currency(),
        "reversible": entry.source_type == JournalEntry.Source.MANUAL and entry.rule == "MANUAL"
        and getattr(entry, "reversed_by", None) is None,
        "may_reverse": approval_kinds.may_propose(request.user, JOURNAL_REVERSAL),
        "reversal_form": reversal_form or ReversalForm(),
    }, status=status)


@login_required
def journal_entry_detail(request, pk: int):
    return _entry_page(request, _entry_or_404(pk))


@login_required
@require_POST
def journal_entry_reverse(request, pk: int):
    roles.require_role(request, READERS)
    if not approval_kinds.may_propose(request.user, JOURNAL_REVERSAL):
        raise PermissionDenied("Your role does not allow proposing reversals.")
    entry = _entry_or_404(pk)
    form = ReversalForm(request.POST)
    if form.is_valid():
        day = form.cleaned_data["entry_date"]
        try:
            change = approvals.change_propose(
                actor=request.user, kind=JOURNAL_REVERSAL, reason=form.cleaned_data["reason"],
                payload={"entry": entry.pk, "entry_date": day.isoformat() if day else None})
        except BusinessRuleError as exc:
            if isinstance(exc, ConflictError):
                messages.error(request, exc.message)
                return redirect("accounting:journal-entry", pk=entry.pk)
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, f"The reversal of entry {entry.pk} is proposed as change #{change.pk}: it is "
                                      "posted when another accounting user approves it.")
            return redirect("accounting:journal-entry", pk=entry.pk)
    return _entry_page(request, entry, reversal_form=form, status=400)


# --- a manual entry ---

class ManualEntryForm(forms.Form):
    entry_date = forms.CharField(label="Entry date", widget=DateInput)
    currency = forms.CharField(max_length=3, label="Currency", widget=forms.TextInput(attrs={"class": "narrow"}))
    description = forms.CharField(max_length=200, label="Description", widget=forms.TextInput(
        attrs={"class": "wide", "placeholder": "e.g. accrue the November audit fee"}))
    account = forms.CharField(required=False, max_length=30, label="Account (optional)", widget=forms.TextInput(
        attrs={"class": "medium", "placeholder": "Trading account code"}))
    reason = forms.CharField(max_length=1000, label="Reason", widget=forms.TextInput(
        attrs={"class": "wide", "placeholder": "Why: shown to the approver"}))


class ManualLineForm(forms.Form):
    gl_account = forms.ChoiceField(required=False, label="GL account")
    debit = forms.CharField(required=False, max_length=40, label="Debit",
                            widget=forms.TextInput(attrs={"class": "num-input", "inputmode": "decimal"}))
    credit = forms.CharField(required=False, max_length=40, label="Credit",
                             widget=forms.TextInput(attrs={"class": "num-input", "inputmode": "decimal"}))
    account = forms.CharField(required=False, max_length=30, label="Account",
                              widget=forms.TextInput(attrs={"class": "short"}))
    instrument = forms.CharField(required=False, max_length=12, label="ISIN",
                                 widget=forms.TextInput(attrs={"class": "medium"}))

    def __init__(self, *args, gl_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["gl_account"].choices = gl_choices

    def is_blank(self) -> bool:
        return not any((self.cleaned_data.get(name) or "").strip() for name in self.fields)


ManualLineFormSet = forms.formset_factory(ManualLineForm, extra=LINE_ROWS, max_num=100, absolute_max=100)


def _gl_choices():
    accounts = list(chart_selectors.gl_account_list(is_active=True))
    headings = chart_selectors.gl_accounts_with_children(accounts)
    return with_all([(a.code, f"{a.code} {a.name}") for a in accounts if a.pk not in headings], label="—")


def _manual_page(request, form, lines, *, status=200):
    roles.require_role(request, READERS)
    return render(request, "accounting/journals/manual_entry.html", {
        "form": form, "lines": lines, "base_currency": base_currency(),
    }, status=status)


def _show_errors(form: ManualEntryForm, lines, used: list[int], errors: dict) -> None:
    for name, messages_ in errors.items():
        if name == "lines" and any(isinstance(item, dict) for item in messages_):
            for index, item in zip(used, messages_, strict=False):
                for line_field, line_messages in (item or {}).items():
                    target = lines.forms[index]
                    for message in line_messages:
                        target.add_error(line_field if line_field in target.fields else None, message)
        elif name == "lines":
            for message in messages_:
                form.add_error(None, message)
        else:
            for message in messages_:
                form.add_error(name if name in form.fields else None, message)


@login_required
def manual_entry(request):
    roles.require_role(request, READERS)
    if not approval_kinds.may_propose(request.user, JOURNAL_MANUAL):
        raise PermissionDenied("Your role does not allow proposing manual journal entries.")
    choices = _gl_choices()
    if request.method != "POST":
        form = ManualEntryForm(initial={"entry_date": timezone.localdate().isoformat(), "currency": base_currency()})
        return _manual_page(request, form, ManualLineFormSet(prefix="lines", form_kwargs={"gl_choices": choices}))
    form = ManualEntryForm(request.POST)
    lines = ManualLineFormSet(request.POST, prefix="lines", form_kwargs={"gl_choices": choices})
    if form.is_valid() and lines.is_valid():
        used = [index for index, line in enumerate(lines.forms) if not line.is_blank()]
        header = form.cleaned_data
        payload = {"entry_date": header["entry_date"], "currency": header["currency"].strip().upper(),
                   "description": header["description"], "account": header["account"].strip() or None,
                   "lines": [{name: (lines.forms[index].cleaned_data.get(name) or "").strip() or None
                              for name in ("gl_account", "debit", "credit", "account", "instrument")}
                             for index in used]}
        try:
            entry = manual_entry_parse(payload)
            change = approvals.change_propose(actor=request.user, kind=JOURNAL_MANUAL, payload=entry.payload(),
                                              reason=header["reason"])
        except ManualEntryInvalid as exc:
            _show_errors(form, lines, used, exc.errors)
        except BusinessRuleError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, f"Manual entry proposed as change #{change.pk}: {change.summary}. It is posted "
                                      "when another accounting user approves it.")
            return redirect("accounting:journal-entries")
    return _manual_page(request, form, lines, status=400)


urlpatterns = [
    path("journal-entries/", journal_entry_list, name="journal-entries"),
    path("journal-entries/csv/", journal_entry_csv, name="journal-entries-csv"),
    path("journal-entries/manual/", manual_entry, name="manual-entry"),
    path("journal-entries/<int:pk>/", journal_entry_detail, name="journal-entry"),
    path("journal-entries/<int:pk>/reverse/", journal_entry_reverse, name="journal-entry-reverse"),
]
