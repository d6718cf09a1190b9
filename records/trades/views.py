"""Dashboard pages of the trade blotter: the blotter, its CSV export, and a trade's detail.

The blotter parses its GET filters with a form and pages by keyset, 50 trades to a page; a filter
naming an account, instrument or counterparty that does not exist matches nothing.
"""

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from backoffice.core.csv_export import csv_blocks, csv_lines
from backoffice.core.forms import DateInput, DateRangeMixin, ReferenceFilterForm, with_all
from backoffice.core.keyset import keyset_page_of
from records.reference import selectors as reference_selectors
from records.trades import selectors
from records.trades.models import Trade


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
    status = forms.ChoiceField(required=False, choices=with_all(Trade.Status.choices))
    side = forms.ChoiceField(required=False, choices=with_all(Trade.Side.choices))
    external_ref = forms.CharField(required=False, max_length=64, label="External ref",
                                   widget=forms.TextInput(attrs={
                                       "placeholder": "Exact, or prefix*",
                                       "title": "The exact reference; end with * to match every reference that "
                                                "starts with what you typed"}))

    reference_fields = ("account", "instrument", "counterparty")

    def clean_account(self):
        return self._resolve("account", reference_selectors.account_find, "account")

    def clean_instrument(self):
        return self._resolve("instrument", reference_selectors.instruments_find, "instrument with ISIN or symbol")

    def clean_counterparty(self):
        return self._resolve("counterparty", reference_selectors.counterparty_find, "counterparty")

    def blotter_filters(self) -> dict | None:
        """Return the keyword arguments of selectors.trade_blotter, or None when nothing can match."""
        filters = self.selector_filters()
        if filters is not None and "instrument" in filters:
            filters["instruments"] = filters.pop("instrument")
        return filters


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


@login_required
def trade_export(request):
    """Stream the filtered blotter (every page of it) as CSV, in the platform's one CSV format (core.csv_export)."""
    form = TradeFilterForm(request.GET)
    headers = [header for header, _path in selectors.TRADE_EXPORT_COLUMNS]
    lines = csv_lines(headers, selectors.trade_export_rows(_blotter_trades(form)))
    response = StreamingHttpResponse(csv_blocks(lines), content_type="text/csv; charset=utf-8")
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
