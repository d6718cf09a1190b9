"""Dashboard pages of the books and records: reference data, prices, cash and the stock record.

Each view parses its GET filters with a form, calls one selector and renders a page of 50 rows.
Invalid filter values are shown on the form and ignored; the valid ones still apply.
"""

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils import timezone

from . import selectors
from .models import Account, Instrument
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


class PriceFilterForm(forms.Form):
    instrument = forms.CharField(required=False, max_length=20, label="Instrument",
                                 widget=forms.TextInput(attrs={"placeholder": "ISIN or symbol"}))
    date_from = forms.DateField(required=False, label="From", widget=DateInput)
    date_to = forms.DateField(required=False, label="To", widget=DateInput)

    def clean(self):
        cleaned = super().clean()
        date_from, date_to = cleaned.get("date_from"), cleaned.get("date_to")
        if date_from and date_to and date_from > date_to:
            self.add_error("date_to", "Must not be before the start date.")
        return cleaned


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
