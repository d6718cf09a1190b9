"""Dashboard pages of the accounting reports (included by accounting/urls.py under /accounting/).

- trial-balance: per GL account and currency as of a date, base-currency columns, totals; its CSV
- ledger: one GL account's lines with opening, running and closing balances; each line links to its entry;
  its CSV (every line, not a page, streamed)
- pnl: P&L per trading account and instrument, totals per currency, two charts (P&L over time: cumulative
  realized and total with unrealized at each mark to market; net P&L per instrument); its CSV
- statements: the income statement and the balance sheet side by side, in the base currency; one CSV of
  both, a statement column telling them apart

Every CSV takes its page's filters (the page's "Download CSV" link carries them) and is written by
backoffice.core.csv_export (one format, formula guard); filters that name nothing give the header alone.

Thin: parse the filters with a form, call the selectors (accounting/reports/selectors.py), render.
Accounting, operations and compliance read every page.
"""

import re
from collections.abc import Iterable
from datetime import date

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone

from accounting.reports import charts, selectors
from backoffice.core import roles
from backoffice.core.csv_export import csv_blocks, csv_lines
from backoffice.core.fields import InputError, format_decimal
from backoffice.core.forms import DateInput, DateRangeMixin, ReferenceFilterForm, page_of
from backoffice.core.replica import on_replica
from records.reference import selectors as reference_selectors
from records.reference.validators import parse_currency

READERS = (roles.ACCOUNTING, roles.OPERATIONS, roles.COMPLIANCE)
INSTRUMENTS_CHARTED = 12

TRIAL_BALANCE_COLUMNS = ("as_of", "gl_account", "name", "type", "currency", "debit", "credit", "balance",
                         "base_currency", "base_debit", "base_credit", "base_balance")
# row: opening (the balance per currency before date_from), line, closing (at the end of date_to).
LEDGER_COLUMNS = ("row", "gl_account", "entry_date", "entry", "rule", "source_type", "source_id", "description",
                  "account", "isin", "symbol", "currency", "quantity", "debit", "credit", "balance", "base_currency",
                  "base_debit", "base_credit", "base_balance")
PNL_COLUMNS = ("as_of", "account", "isin", "symbol", "currency", "quantity", "cost", "price", "price_date",
               "market_value", "realized", "unrealized", "commissions", "net")
# statement: income_statement or balance_sheet; row: account (amount with its sub-accounts, own_amount its
# own lines), earnings (the balance sheet's current-period earnings), section_total, then the statement's totals.
STATEMENT_COLUMNS = ("statement", "date_from", "date_to", "section", "row", "gl_account", "name", "parent", "depth",
                     "own_amount", "amount", "currency")


def _csv_response(lines: Iterable[str], filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(csv_blocks(lines), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _file_part(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text)


def _text(placeholder: str, css: str = "medium", max_length: int = 30) -> forms.CharField:
    return forms.CharField(required=False, max_length=max_length,
                           widget=forms.TextInput(attrs={"placeholder": placeholder, "class": css}))


class ReportFilterForm(ReferenceFilterForm):
    """The filters the reports share: a trading account (code) and a currency."""

    reference_fields = ("account", "instrument")

    def clean_account(self):
        return self._resolve("account", reference_selectors.account_find, "account")

    def clean_currency(self):
        value = (self.cleaned_data.get("currency") or "").strip().upper()
        if not value:
            return None
        try:
            return parse_currency(value)
        except InputError as exc:
            raise forms.ValidationError(exc.message) from None


class TrialBalanceForm(ReportFilterForm):
    as_of = forms.DateField(required=False, label="As of", widget=DateInput)
    account = _text("Account code")
    currency = _text("USD", "short", 3)


class LedgerForm(DateRangeMixin, ReportFilterForm):
    gl_account = forms.ChoiceField(label="GL account", required=False)
    account = _text("Account code")
    currency = _text("USD", "short", 3)
    date_from = forms.DateField(required=False, label="From", widget=DateInput)
    date_to = forms.DateField(required=False, label="To", widget=DateInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["gl_account"].choices = [("", "Choose…")] + [
            (gl.code, f"{gl.code} {gl.name}") for gl in selectors.gl_account_list()]


class PnlForm(ReportFilterForm):
    as_of = forms.DateField(required=False, label="As of", widget=DateInput)
    account = _text("Account code")
    instrument = _text("ISIN or symbol", max_length=20)

    def clean_instrument(self):
        key = (self.cleaned_data.get("instrument") or "").strip()
        if not key:
            return None
        found = reference_selectors.instruments_find(key)
        if not found:
            raise forms.ValidationError(f"No instrument with ISIN or symbol {key!r}.")
        if len(found) > 1:
            raise forms.ValidationError(f"Several instruments have symbol {key!r}: give the ISIN.")
        return found[0]


class StatementsForm(DateRangeMixin, ReportFilterForm):
    date_from = forms.DateField(required=False, label="From", widget=DateInput,
                                help_text="Income statement from; default 1 January.")
    date_to = forms.DateField(required=False, label="To (as of)", widget=DateInput)
    account = _text("Account code")


def _filters(form: ReportFilterForm) -> dict | None:
    """The form's valid filters, or None when a filter names nothing (the page then shows nothing)."""
    form.is_valid()
    if any(name in form.errors for name in ("account", "instrument", "currency")):
        return None
    return {name: form.cleaned_data.get(name) for name in ("account", "instrument", "currency")
            if name in form.fields}


def _entry_url(entry_id: int) -> str | None:
    """The journal entry's page, once accounting/journals has one (accounting:journal-entry); else None."""
    try:
        return reverse("accounting:journal-entry", kwargs={"pk": entry_id})
    except NoReverseMatch:
        return None


# --- trial balance ---

def _trial_balance(request) -> tuple[TrialBalanceForm, date, object, dict | None]:
    form = TrialBalanceForm(request.GET)
    filters = _filters(form)
    as_of = form.cleaned_data.get("as_of") or timezone.localdate()
    if filters is None:
        return form, as_of, [], None
    rows = selectors.trial_balance(as_of=as_of, **filters)
    return form, as_of, rows, filters


@login_required
@on_replica
def trial_balance(request):
    roles.require_role(request, READERS)
    form, as_of, queryset, filters = _trial_balance(request)
    rows = list(queryset)
    totals = selectors.trial_balance_totals(rows) if rows else None
    return render(request, "accounting/reports/trial_balance.html", {
        "form": form, "as_of": as_of, "today": timezone.localdate(), "rows": rows, "totals": totals,
        "base_currency": selectors.base_currency(),
        "balanced": totals is None or (all(t["debit"] == t["credit"] for t in totals["per_currency"])
                                       and totals["base"]["debit"] == totals["base"]["credit"]),
        "account_code": filters and filters.get("account") and filters["account"].code,
    })


@login_required
@on_replica
def trial_balance_csv(request):
    """The trial balance of the page's filters as CSV (core.csv_export's format)."""
    roles.require_role(request, READERS)
    _form, as_of, rows, _ = _trial_balance(request)
    base = selectors.base_currency()
    lines = csv_lines(TRIAL_BALANCE_COLUMNS, (
        (as_of, row["gl_code"], row["gl_name"], row["gl_type"], row["currency"], row["debit"], row["credit"],
         row["balance"], base, row["base_debit"], row["base_credit"], row["base_balance"]) for row in rows))
    return _csv_response(lines, f"trial-balance-{as_of:%Y%m%d}.csv")


# --- ledger ---

def _ledger(request) -> tuple[LedgerForm, object, dict | None]:
    """The form, the GL account it names (None: none chosen) and the selectors' scope (None: nothing to show)."""
    form = LedgerForm(request.GET)
    filters = _filters(form)
    code = form.cleaned_data.get("gl_account")
    gl_account = selectors.gl_account_get(code) if code else None
    if gl_account is None or filters is None or form.errors:
        return form, gl_account, None
    return form, gl_account, {"gl_account": gl_account, "account": filters["account"], "currency": filters["currency"]}


@login_required
@on_replica
def ledger(request):
    roles.require_role(request, READERS)
    form, gl_account, scope = _ledger(request)
    context = {"form": form, "gl_account": gl_account, "base_currency": selectors.base_currency(),
               "date_from": form.cleaned_data.get("date_from"), "date_to": form.cleaned_data.get("date_to"),
               "chart": selectors.gl_account_list() if gl_account is None else None}
    if scope is not None:
        opening = selectors.ledger_opening(**scope, date_from=context["date_from"])
        page = page_of(request, selectors.LedgerLines(**scope, date_from=context["date_from"],
                                                      date_to=context["date_to"]))
        page.object_list = selectors.ledger_page_balances(list(page.object_list), opening)
        for line in page.object_list:
            line.entry_url = _entry_url(line.entry_id)
        context.update(page=page, opening=opening,
                       closing=selectors.ledger_closing(**scope, date_to=context["date_to"]))
    return render(request, "accounting/reports/ledger.html", context)


def _ledger_rows(scope: dict, *, date_from: date | None, date_to: date | None, base: str):
    code = scope["gl_account"].code
    account_code = scope["account"].code if scope["account"] is not None else None
    opening = selectors.ledger_opening(**scope, date_from=date_from)
    for balance in opening:
        yield ("opening", code, None, None, None, None, None, f"Opening balance before {date_from.isoformat()}",
               account_code, None, None, balance.currency, None, None, None, balance.balance, base, None, None,
               balance.base_balance)
    for line in selectors.ledger_export(**scope, opening=opening, date_from=date_from, date_to=date_to):
        yield ("line", code, line["entry_date"], line["entry_id"], line["entry__rule"], line["entry__source_type"],
               line["entry__source_id"], line["entry__description"], line["account__code"],
               line["instrument__isin"], line["instrument__symbol"], line["currency"], line["quantity"],
               line["debit"], line["credit"], line["running_balance"], base, line["base_debit"],
               line["base_credit"], line["running_base_balance"])
    closing = "Closing balance" + (f" at the end of {date_to.isoformat()}" if date_to else "")
    for balance in selectors.ledger_closing(**scope, date_to=date_to):
        yield ("closing", code, None, None, None, None, None, closing, account_code, None, None, balance.currency,
               None, None, None, balance.balance, base, None, None, balance.base_balance)


@login_required
@on_replica
def ledger_csv(request):
    """Every line of the ledger page's GL account and filters (not a page) as CSV, with running balances, its
    opening and closing balances as rows of their own; streamed. The header alone without a GL account."""
    roles.require_role(request, READERS)
    form, gl_account, scope = _ledger(request)
    date_from, date_to = form.cleaned_data.get("date_from"), form.cleaned_data.get("date_to")
    rows = () if scope is None else _ledger_rows(scope, date_from=date_from, date_to=date_to,
                                                 base=selectors.base_currency())
    name = f"ledger-{_file_part(gl_account.code)}" if gl_account is not None else "ledger"
    return _csv_response(csv_lines(LEDGER_COLUMNS, rows),
                         f"{name}-{(date_to or timezone.localdate()):%Y%m%d}.csv")


# --- P&L ---

def _bar_rows(by_instrument: list[dict]) -> dict[str, list]:
    """Net P&L per instrument for the bar charts, one chart per currency, largest magnitude first."""
    per_currency: dict[str, list] = {}
    for row in sorted(by_instrument, key=lambda row: -abs(row["net"] or 0)):
        rows = per_currency.setdefault(row["currency"], [])
        if len(rows) < INSTRUMENTS_CHARTED:
            label = row["symbol"] or row["isin"] or "(none)"
            rows.append((label, row["net"] or selectors.ZERO, row["currency"],
                         f"{label} {row['isin'] or ''}: net {format_decimal(row['net'] or 0)} {row['currency']}"
                         + (" (unpriced: unrealized not counted)" if row["unpriced"] else "")))
    return {currency: charts.net_bars(rows) for currency, rows in sorted(per_currency.items())}


def _pnl(request) -> tuple[PnlForm, date, dict | None]:
    form = PnlForm(request.GET)
    filters = _filters(form)
    return form, form.cleaned_data.get("as_of") or timezone.localdate(), filters


@login_required
@on_replica
def pnl(request):
    roles.require_role(request, READERS)
    form, as_of, filters = _pnl(request)
    context = {"form": form, "as_of": as_of, "today": timezone.localdate(), "base_currency": selectors.base_currency(),
               "page": None, "totals": [], "bar_charts": {}, "line_chart": None}
    if filters is not None:
        rows = selectors.pnl_list(as_of=as_of, account=filters["account"], instrument=filters["instrument"])
        page = page_of(request, selectors.pnl_pages(rows))
        if page.paginator.count:
            by_instrument = selectors.pnl_by_instrument(rows)
            context.update(totals=selectors.pnl_totals_of(by_instrument), bar_charts=_bar_rows(by_instrument))
        days = selectors.pnl_by_day(as_of=as_of, account=filters["account"], instrument=filters["instrument"])
        context.update(page=page, line_chart=charts.pnl_chart(days, currency=selectors.base_currency()))
    return render(request, "accounting/reports/pnl.html", context)


@login_required
@on_replica
def pnl_csv(request):
    """Every row of the P&L page's report (not a page) as CSV, streamed; the header alone when a filter names
    nothing."""
    roles.require_role(request, READERS)
    _form, as_of, filters = _pnl(request)
    rows = () if filters is None else (
        (as_of, row["account_code"], row["isin"], row["symbol"], row["currency"], row["quantity"], row["cost"],
         row["price"], row["price_date"], row["market_value"], row["realized"], row["unrealized"],
         row["commissions"], row["net"])
        for row in selectors.pnl_list(as_of=as_of, account=filters["account"], instrument=filters["instrument"])
        .iterator(chunk_size=selectors.EXPORT_CHUNK))
    return _csv_response(csv_lines(PNL_COLUMNS, rows), f"pnl-{as_of:%Y%m%d}.csv")


# --- statements ---

def _statements(request) -> tuple[StatementsForm, date, date, dict | None]:
    form = StatementsForm(request.GET)
    filters = _filters(form)
    date_to = form.cleaned_data.get("date_to") or timezone.localdate()
    date_from = form.cleaned_data.get("date_from") or date(date_to.year, 1, 1)
    if date_from > date_to:
        date_from = date(date_to.year, 1, 1)
    return form, date_from, date_to, filters


@login_required
@on_replica
def statements(request):
    roles.require_role(request, READERS)
    form, date_from, date_to, filters = _statements(request)
    context = {"form": form, "date_from": date_from, "date_to": date_to, "base_currency": selectors.base_currency(),
               "income": None, "sheet": None}
    if filters is not None:
        context.update(income=selectors.income_statement(date_from=date_from, date_to=date_to,
                                                         account=filters["account"]),
                       sheet=selectors.balance_sheet(as_of=date_to, account=filters["account"]))
    return render(request, "accounting/reports/statements.html", context)


def _statement_rows(statement: str, sections, *, date_from: date | None, date_to: date, base: str):
    for section in sections:
        for line in section.lines:
            yield (statement, date_from, date_to, section.type, "account" if line.gl_account else "earnings",
                   line.gl_account, line.name, line.parent, line.depth, line.amount, line.total, base)
        yield (statement, date_from, date_to, section.type, "section_total", None, f"Total {section.label.lower()}",
               None, None, None, section.total, base)


def _statements_rows(income, sheet, base: str):
    yield from _statement_rows("income_statement", income.sections, date_from=income.date_from,
                               date_to=income.date_to, base=base)
    yield ("income_statement", income.date_from, income.date_to, None, "net_income", None,
           "Net income (revenue - expenses)", None, None, None, income.net_income, base)
    yield from _statement_rows("balance_sheet", sheet.sections, date_from=None, date_to=sheet.as_of, base=base)
    for row, name, value in (("total_assets", "Total assets", sheet.assets),
                             ("total_liabilities_and_equity", "Total liabilities and equity",
                              sheet.liabilities_and_equity),
                             ("difference", "Difference (assets - liabilities and equity)", sheet.difference)):
        yield ("balance_sheet", None, sheet.as_of, None, row, None, name, None, None, None, value, base)


@login_required
@on_replica
def statements_csv(request):
    """The statements page's income statement and balance sheet as one CSV (a statement column tells them apart),
    every line with its section totals and the statements' totals; the header alone when a filter names nothing."""
    roles.require_role(request, READERS)
    _form, date_from, date_to, filters = _statements(request)
    rows = ()
    if filters is not None:
        rows = _statements_rows(
            selectors.income_statement(date_from=date_from, date_to=date_to, account=filters["account"]),
            selectors.balance_sheet(as_of=date_to, account=filters["account"]), selectors.base_currency())
    return _csv_response(csv_lines(STATEMENT_COLUMNS, rows), f"statements-{date_from:%Y%m%d}-{date_to:%Y%m%d}.csv")


urlpatterns = [
    path("trial-balance/", trial_balance, name="trial-balance"),
    path("trial-balance/csv/", trial_balance_csv, name="trial-balance-csv"),
    path("ledger/", ledger, name="ledger"),
    path("ledger/csv/", ledger_csv, name="ledger-csv"),
    path("pnl/", pnl, name="pnl"),
    path("pnl/csv/", pnl_csv, name="pnl-csv"),
    path("statements/", statements, name="statements"),
    path("statements/csv/", statements_csv, name="statements-csv"),
]
