"""Dashboard pages of reference data: instruments, accounts, counterparties and prices.

Each view parses its GET filters with a form, calls one selector and renders a page of 50 rows.
Invalid filter values are shown on the form and ignored; the valid ones still apply.
"""

from django import forms
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone

from backoffice.core.forms import DateInput, DateRangeMixin, form_filters, page_of, with_all
from records.reference import selectors
from records.reference.models import Account, Instrument
from records.reference.services.calendar import settlement_cycle_for


class InstrumentFilterForm(forms.Form):
    search = forms.CharField(required=False, max_length=200, label="Search",
                             widget=forms.TextInput(attrs={"placeholder": "ISIN, symbol or name"}))
    asset_class = forms.ChoiceField(required=False, choices=with_all(Instrument.AssetClass.choices),
                                    label="Asset class")
    market = forms.ChoiceField(required=False, label="Market")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["market"].choices = with_all([(m.mic, f"{m.mic} {m.name}") for m in selectors.market_list()])


class AccountFilterForm(forms.Form):
    search = forms.CharField(required=False, max_length=200, label="Search",
                             widget=forms.TextInput(attrs={"placeholder": "Code, name or owner"}))
    status = forms.ChoiceField(required=False, choices=with_all(Account.Status.choices))
    kind = forms.ChoiceField(required=False, choices=with_all(Account.Kind.choices))
    kyc = forms.ChoiceField(required=False, label="KYC review", choices=with_all(selectors.KYC_CHOICES))


class CounterpartyFilterForm(forms.Form):
    search = forms.CharField(required=False, max_length=200, label="Search",
                             widget=forms.TextInput(attrs={"placeholder": "Code, name or LEI"}))
    is_ccp = forms.TypedChoiceField(required=False, label="CCP",
                                    choices=[("", "All"), ("yes", "CCPs only"), ("no", "Not CCPs")],
                                    coerce=lambda value: value == "yes", empty_value=None)


class PriceFilterForm(DateRangeMixin, forms.Form):
    instrument = forms.CharField(required=False, max_length=20, label="Instrument",
                                 widget=forms.TextInput(attrs={"placeholder": "ISIN or symbol"}))
    date_from = forms.DateField(required=False, label="From", widget=DateInput)
    date_to = forms.DateField(required=False, label="To", widget=DateInput)


@login_required
def instrument_list(request):
    form = InstrumentFilterForm(request.GET)
    today = timezone.localdate()
    page = page_of(request, selectors.instrument_search(as_of=today, **form_filters(form)))
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
    today = timezone.localdate()
    rows = selectors.account_search(**form_filters(form), today=today)
    return render(request, "records/account_list.html", {"form": form, "page": page_of(request, rows),
                                                         "today": today,
                                                         "kyc_soon": today + selectors.KYC_DUE_SOON})


@login_required
def counterparty_list(request):
    form = CounterpartyFilterForm(request.GET)
    rows = selectors.counterparty_search(**form_filters(form))
    return render(request, "records/counterparty_list.html", {"form": form, "page": page_of(request, rows)})


@login_required
def price_list(request):
    form = PriceFilterForm(request.GET)
    rows = selectors.price_search(**form_filters(form))
    return render(request, "records/price_list.html", {"form": form, "page": page_of(request, rows)})
