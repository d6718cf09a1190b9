"""Dashboard pages of the books and records: reference data, prices, cash, the stock record, the
trade blotter and inventory.

Each view parses its GET filters with a form, calls one selector and renders a page of 50 rows.
Invalid filter values are shown on the form and ignored; the valid ones still apply.
"""

import csv
from datetime import date, datetime
from decimal import Decimal

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from backoffice.core.fields import format_decimal

from . import selectors
from .models import Account, Instrument, Trade
from .services.calendar import settlement_cycle_for

PAGE_SIZE = 50


class DateInput(forms.DateInput):
    input_type = "date"


def _all(choices, label="All"):
    return [("", label), *choices]


class InstrumentFilterForm(forms.Form):
    search = forms.CharField(required=False, max_length=200, label="Search",
                             widget=forms.TextInput(attrs={"placeholder": "ISIN, symbol or name"}))
    asset_class = forms.ChoiceField(required=False, choices=_all(Instrument.AssetClass.choices),
                                    label="Asset class")
    market = forms.ChoiceField(required=False, label="Market")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["market"].choices = _all([(m.mic, f"{m.mic} {m.name}") for m in selectors.market_list()])


class AccountFilterForm(forms.Form):
    search = forms.CharField(required=False, max_length=200, label="Search",
                             widget=forms.TextInput(attrs={"placeholder": "Code or name"}))
    status = forms.ChoiceField(required=False, choices=_all(Account.Status.choices))
    kind = forms.ChoiceField(required=False, choices=_all(Account.Kind.choices))


class CounterpartyFilterForm(forms.Form):
    search = forms.CharField(required=False, max_length=200, label="Search",
                             widget=forms.TextInput(attrs={"placeholder": "Code, name or LEI"}))
    is_ccp = forms.TypedChoiceField(required=False, label="CCP",
                                    choices=[("", "All"), ("yes", "CCPs only"), ("no", "Not CCPs")],
                                    coerce=lambda value: value == "yes", empty_value=None)


class DateRangeMixin:
    """A filter form with date_from and date_to fields: the range may not run backwards."""

    def clean(self):
        cleaned = super().clean()
        date_from, date_to = cleaned.get("date_from"), cleaned.get("date_to")
        if date_from and date_to and date_from > date_to:
            self.add_error("date_to", "Must not be before the start date.")
        return cleaned


class PriceFilterForm(DateRangeMixin, forms.Form):
    instrument = forms.CharField(required=False, max_length=20, label="Instrument",
                                 widget=forms.TextInput(attrs={"placeholder": "ISIN or symbol"}))
    date_from = forms.DateField(required=False, label="From", widget=DateInput)
    date_to = forms.DateField(required=False, label="To", widget=DateInput)


class CashBalanceFilterForm(forms.Form):
    account = forms.CharField(required=False, max_length=30, label="Account",
                              widget=forms.TextInput(attrs={"placeholder": "Account code"}))
    currency = forms.CharField(required=False, max_length=3, label="Currency",
                               widget=forms.TextInput(attrs={"placeholder": "USD", "class": "narrow"}))


class PositionFilterForm(forms.Form):
    account = forms.CharField(required=False, max_length=30, label="Account",
                              widget=forms.TextInput(attrs={"placeholder": "Account code"}))
    instrument = forms.CharField(required=False, max_length=20, label="Instrument",
                                 widget=forms.TextInput(attrs={"placeholder": "ISIN or symbol"}))
    include_flat = forms.BooleanField(required=False, label="Include flat positions")


def _filters(form: forms.Form) -> dict:
    """Return the valid, non-empty filter values of a bound form."""
    form.is_valid()
    return {name: value.strip() if isinstance(value, str) else value
            for name, value in form.cleaned_data.items() if value not in (None, "")}


def _page(request, rows):
    return Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))


@login_required
def instrument_list(request):
    form = InstrumentFilterForm(request.GET)
    today = timezone.localdate()
    page = _page(request, selectors.instrument_search(as_of=today, **_filters(form)))
    page.object_list = list(page.object_list)
    for instrument in page.object_list:
        instrument.cycle_today = settlement_cycle_for(instrument=instrument, trade_date=today)
    return render(request, "records/instrument_list.html", {
        "form": form, "page": page, "today": today,
        "latest_price_date": selectors.price_latest_date(as_of=today),
    })


@login_required
def account_list(request):
    form = AccountFilterForm(request.GET)
    rows = selectors.account_search(**_filters(form))
    return render(request, "records/account_list.html", {"form": form, "page": _page(request, rows)})


@login_required
def counterparty_list(request):
    form = CounterpartyFilterForm(request.GET)
    rows = selectors.counterparty_search(**_filters(form))
    return render(request, "records/counterparty_list.html", {"form": form, "page": _page(request, rows)})


@login_required
def price_list(request):
    form = PriceFilterForm(request.GET)
    rows = selectors.price_search(**_filters(form))
    return render(request, "records/price_list.html", {"form": form, "page": _page(request, rows)})


@login_required
def cash_balance_list(request):
    form = CashBalanceFilterForm(request.GET)
    rows = selectors.cash_balance_search(**_filters(form))
    return render(request, "records/cash_balance_list.html", {
        "form": form,
        "page": _page(request, rows),
        "totals": selectors.cash_totals_by_currency(rows),
    })


@login_required
def position_list(request):
    form = PositionFilterForm(request.GET)
    today = timezone.localdate()
    rows = selectors.position_search(as_of=today, **_filters(form))
    return render(request, "records/position_list.html", {
        "form": form, "page": _page(request, rows), "today": today,
        "latest_price_date": selectors.price_latest_date(as_of=today),
    })


# Trades and inventory ---------------------------------------------------------------------------

class ReferenceFilterForm(forms.Form):
    """A filter form some of whose fields name records by their business keys (account code, ISIN...).

    A key that names no record is shown as an error and matches no rows rather than being ignored:
    a clerk who mistypes an account must not be shown every account's trades as if they were its.
    """

    reference_fields: tuple[str, ...] = ()

    def selector_filters(self) -> dict | None:
        """Return the valid filters, or None when a reference filter names nothing."""
        filters = _filters(self)
        if any(name in self.errors for name in self.reference_fields):
            return None
        return filters

    def _resolve(self, name: str, find, what: str):
        key = self.cleaned_data.get(name)
        if not key:
            return None
        found = find(key)
        if not found:
            raise forms.ValidationError(f"No {what} {key!r}.")
        return found


class TradeFilterForm(DateRangeMixin, ReferenceFilterForm):
    trade_date = forms.DateField(required=False, label="Trade date", widget=DateInput)
    date_from = forms.DateField(required=False, label="Trade date from", widget=DateInput)
    date_to = forms.DateField(required=False, label="Trade date to", widget=DateInput)
    account = forms.CharField(required=False, max_length=30, label="Account",
                              widget=forms.TextInput(attrs={"placeholder": "Account code", "class": "medium"}))
    instrument = forms.CharField(required=False, max_length=20, label="Instrument",
                                 widget=forms.TextInput(attrs={"placeholder": "ISIN or symbol", "class": "medium"}))
    counterparty = forms.CharField(required=False, max_length=30, label="Counterparty",
                                   widget=forms.TextInput(attrs={"placeholder": "Code", "class": "medium"}))
    status = forms.ChoiceField(required=False, choices=_all(Trade.Status.choices))
    side = forms.ChoiceField(required=False, choices=_all(Trade.Side.choices))
    external_ref = forms.CharField(required=False, max_length=64, label="External ref",
                                   widget=forms.TextInput(attrs={
                                       "placeholder": "Exact, or prefix*",
                                       "title": "The exact reference; end with * to match every reference that "
                                                "starts with what you typed"}))

    reference_fields = ("account", "instrument", "counterparty")

    def clean_account(self):
        return self._resolve("account", selectors.account_find, "account")

    def clean_instrument(self):
        return self._resolve("instrument", selectors.instruments_find, "instrument with ISIN or symbol")

    def clean_counterparty(self):
        return self._resolve("counterparty", selectors.counterparty_find, "counterparty")

    def blotter_filters(self) -> dict | None:
        """Return the keyword arguments of selectors.trade_blotter, or None when nothing can match."""
        filters = self.selector_filters()
        if filters is not None and "instrument" in filters:
            filters["instruments"] = filters.pop("instrument")
        return filters


def keyset_page_of(request, queryset):
    """The keyset page of a list view: the ?before= / ?after= cursors of the request (junk ignored)."""
    def cursor(name: str) -> int | None:
        value = request.GET.get(name, "")
        return int(value) if value.isdigit() else None

    return selectors.keyset_page(queryset, before=cursor("before"), after=cursor("after"))


def _blotter_trades(form: TradeFilterForm):
    filters = form.blotter_filters()
    trades = selectors.trade_blotter(**(filters or {}))
    return trades if filters is not None else trades.none()


@login_required
def trade_list(request):
    form = TradeFilterForm(request.GET)
    trades = _blotter_trades(form)
    page = keyset_page_of(request, trades)
    return render(request, "records/trade_list.html", {
        "form": form, "page": page, "totals": selectors.trade_blotter_totals(trades, page=page),
    })


# Cells that could start with a spreadsheet formula: free text from front-office systems.
CSV_TEXT_COLUMNS = frozenset({"external_ref", "account", "counterparty", "symbol"})
CSV_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class _Echo:
    """A file-like object whose write returns the line: csv.writer for a streamed response."""

    def write(self, value):
        return value


def _csv_cell(header: str, value) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format_decimal(value)  # plain digits, no exponent, never through float
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    text = str(value)
    if header in CSV_TEXT_COLUMNS and text.startswith(CSV_FORMULA_STARTS):
        return "'" + text  # shown as text, never evaluated (CSV injection)
    return text


CSV_LINES_PER_CHUNK = 500


def _csv_lines(rows):
    """The header, then a line per trade, with gross_amount (quantity times price, exact) after price.

    Lines are sent in chunks of CSV_LINES_PER_CHUNK: one write per line would cost a million
    socket writes for a million trades.
    """
    writer = csv.writer(_Echo())
    headers = [header for header, _path in selectors.TRADE_EXPORT_COLUMNS]
    quantity, price = headers.index("quantity"), headers.index("price")
    yield writer.writerow([*headers[:price + 1], "gross_amount", *headers[price + 1:]])
    chunk = []
    for row in rows:
        cells = [_csv_cell(header, value) for header, value in zip(headers, row, strict=True)]
        cells.insert(price + 1, format_decimal(row[quantity] * row[price]))
        chunk.append(writer.writerow(cells))
        if len(chunk) == CSV_LINES_PER_CHUNK:
            yield "".join(chunk)
            chunk = []
    if chunk:
        yield "".join(chunk)


@login_required
def trade_export(request):
    """Stream the filtered blotter (every page of it) as CSV."""
    form = TradeFilterForm(request.GET)
    rows = selectors.trade_export_rows(_blotter_trades(form))
    response = StreamingHttpResponse(_csv_lines(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="trades-{timezone.localtime():%Y%m%d-%H%M%S}.csv"'
    return response


@login_required
def trade_detail(request, trade_id: int):
    trade = selectors.trade_detail_get(trade_id)
    if trade is None:
        raise Http404("No such trade.")
    return render(request, "records/trade_detail.html", {
        "trade": trade,
        "events": selectors.trade_timeline(trade),
        "versions": selectors.trade_version_rows(trade),
    })


class InventoryFilterForm(ReferenceFilterForm):
    account = forms.ChoiceField(required=False, label="Account")
    instrument = forms.CharField(required=False, max_length=20, label="Instrument",
                                 widget=forms.TextInput(attrs={"placeholder": "ISIN or symbol"}))
    as_of = forms.DateField(required=False, label="As of", widget=DateInput)

    reference_fields = ("account", "instrument")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account"].choices = _all(
            [(a.code, f"{a.code} · {a.name}") for a in selectors.account_list()], "All accounts")

    def clean_instrument(self):
        found = self._resolve("instrument", selectors.instruments_find, "instrument with ISIN or symbol")
        if found and len(found) > 1:
            raise forms.ValidationError(
                f"{len(found)} instruments have symbol {self.cleaned_data['instrument']!r}: give the ISIN.")
        return found[0].isin if found else None

    def clean_as_of(self):
        as_of = self.cleaned_data.get("as_of")
        if as_of and as_of > timezone.localdate():
            raise forms.ValidationError("Must not be in the future.")
        return as_of


@login_required
def inventory(request):
    data = request.GET.copy()
    data.setdefault("as_of", timezone.localdate().isoformat())  # show the date the figures are for
    form = InventoryFilterForm(data)
    filters = form.selector_filters()
    matches_nothing, filters = filters is None, filters or {}
    as_of = filters.get("as_of") or timezone.localdate()
    rows = selectors.inventory_list(as_of=as_of, account_code=filters.get("account"), isin=filters.get("instrument"))
    if matches_nothing:
        rows = rows.none()
    elif filters.get("account"):
        # One account holds a bounded number of positions: compute them once (a past as_of sums
        # later trades per position) for both the page and the totals.
        rows = list(rows)
    page = _page(request, rows)
    page.object_list = list(page.object_list)
    for row in page.object_list:
        row.available = selectors.inventory_available(row)
        row.market_value = selectors.inventory_market_value(row)
    return render(request, "records/inventory.html", {
        "form": form, "page": page, "as_of": as_of, "account": filters.get("account"),
        "totals": selectors.inventory_totals(rows),
    })
