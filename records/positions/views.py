"""Dashboard pages of the stock record: positions as they stand, inventory as of a date and what is still to settle."""

from django import forms
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone

from backoffice.core.forms import DateInput, ReferenceFilterForm, form_filters, page_of, with_all
from records.positions import projection, selectors
from records.reference import selectors as reference_selectors


class PositionFilterForm(forms.Form):
    account = forms.CharField(required=False, max_length=30, label="Account",
                              widget=forms.TextInput(attrs={"placeholder": "Account code"}))
    instrument = forms.CharField(required=False, max_length=20, label="Instrument",
                                 widget=forms.TextInput(attrs={"placeholder": "ISIN or symbol"}))
    include_flat = forms.BooleanField(required=False, label="Include flat positions")


@login_required
def position_list(request):
    form = PositionFilterForm(request.GET)
    today = timezone.localdate()
    rows = selectors.position_search(as_of=today, **form_filters(form))
    page = page_of(request, rows)
    page.object_list = list(page.object_list)
    for row in page.object_list:  # valued as inventory is (half-even to the minor unit), not in the template
        row.market_value = selectors.inventory_value(row.traded_quantity, row.latest_price, row.instrument.currency)
    return render(request, "records/position_list.html", {
        "form": form, "page": page, "today": today,
        "latest_price_date": reference_selectors.price_latest_date(as_of=today),
    })


class InventoryFilterForm(ReferenceFilterForm):
    account = forms.ChoiceField(required=False, label="Account")
    instrument = forms.CharField(required=False, max_length=20, label="Instrument",
                                 widget=forms.TextInput(attrs={"placeholder": "ISIN or symbol"}))
    as_of = forms.DateField(required=False, label="As of", widget=DateInput)

    reference_fields = ("account", "instrument")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account"].choices = with_all(
            [(a.code, f"{a.code} · {a.name}") for a in reference_selectors.account_list()], "All accounts")

    def clean_instrument(self):
        found = self._resolve("instrument", reference_selectors.instruments_find, "instrument with ISIN or symbol")
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
    page = page_of(request, rows)
    page.object_list = list(page.object_list)
    for row in page.object_list:
        row.available = selectors.inventory_available(row)
        row.market_value = selectors.inventory_market_value(row)
    # What the positions' pending receipts and deliveries are made of, by the date they settle.
    pending = [] if matches_nothing else projection.pending_settlements(account_code=filters.get("account"),
                                                                         isin=filters.get("instrument"))
    return render(request, "records/inventory.html", {
        "form": form, "page": page, "as_of": as_of, "account": filters.get("account"),
        "totals": selectors.inventory_totals(rows), "pending": pending, "pending_limit": projection.PROJECTION_ROWS,
        "today": timezone.localdate(),
    })
