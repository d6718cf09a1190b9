"""Dashboard page of cash: balances per account and currency, with their totals per currency."""

from django import forms
from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from backoffice.core.forms import form_filters, page_of
from records.cash import selectors


class CashBalanceFilterForm(forms.Form):
    account = forms.CharField(required=False, max_length=30, label="Account",
                              widget=forms.TextInput(attrs={"placeholder": "Account code"}))
    currency = forms.CharField(required=False, max_length=3, label="Currency",
                               widget=forms.TextInput(attrs={"placeholder": "USD", "class": "narrow"}))


@login_required
def cash_balance_list(request):
    form = CashBalanceFilterForm(request.GET)
    rows = selectors.cash_balance_search(**form_filters(form))
    return render(request, "records/cash_balance_list.html", {
        "form": form,
        "page": page_of(request, rows),
        "totals": selectors.cash_totals_by_currency(rows),
    })
