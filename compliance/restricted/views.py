"""The restricted list's dashboard page (included by compliance/urls.py): /compliance/restricted-list/.

Compliance, operations and accounting read it; compliance adds entries and ends them (superusers too).
Thin: parse, call one service or selector, shape; a refusal is shown on the form or as a message.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_POST

from backoffice.core import roles
from backoffice.core.exceptions import BusinessRuleError
from backoffice.core.fields import InputError, parse_text
from backoffice.core.forms import DateInput, ReferenceFilterForm, page_of
from compliance.restricted import selectors, services
from records.reference import selectors as reference_selectors

READERS = (roles.COMPLIANCE, roles.OPERATIONS, roles.ACCOUNTING)
WRITERS = (roles.COMPLIANCE,)
ALL = "ALL"


class RestrictedFilterForm(ReferenceFilterForm):
    instrument = forms.CharField(required=False, max_length=20, label="Instrument",
                                 widget=forms.TextInput(attrs={"placeholder": "ISIN or symbol", "class": "medium"}))
    active_on = forms.DateField(required=False, label="In effect on", widget=DateInput)
    state = forms.ChoiceField(required=False, label="Show", choices=[
        ("", "In effect or upcoming"), (selectors.ACTIVE, "In effect today"), (selectors.FUTURE, "Upcoming"),
        (selectors.ENDED, "Past (ended, withdrawn)"), (ALL, "All")])

    reference_fields = ("instrument",)

    def clean_instrument(self):
        return self._resolve("instrument", reference_selectors.instruments_find, "instrument with ISIN or symbol")

    def restricted_filters(self, today) -> dict | None:
        filters = self.selector_filters()
        if filters is None:
            return None
        if "instrument" in filters:
            filters["instruments"] = filters.pop("instrument")
        state = filters.pop("state", "") or selectors.CURRENT
        if state != ALL and "active_on" not in filters:
            filters.update(state=state, today=today)
        return filters


def _text(value: str, *, allow_blank: bool = False) -> str:
    try:
        return parse_text(value, max_length=services.REASON_MAX_LENGTH, allow_blank=allow_blank)
    except InputError as exc:
        raise forms.ValidationError(exc.message) from None


class RestrictedAddForm(forms.Form):
    instrument = forms.CharField(max_length=12, label="Instrument (ISIN)",
                                 widget=forms.TextInput(attrs={"class": "medium", "placeholder": "US0378331005"}))
    effective_from = forms.DateField(label="Restricted from", widget=DateInput)
    effective_to = forms.DateField(required=False, label="Restricted to", widget=DateInput,
                                   help_text="The last trade date restricted; empty: until ended.")
    reason = forms.CharField(max_length=services.REASON_MAX_LENGTH, label="Reason", widget=forms.TextInput(
        attrs={"class": "wide", "placeholder": "e.g. material non-public information: advisory mandate"}))

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "add-%s")  # the filter bar on the same page has an instrument field too
        super().__init__(*args, **kwargs)

    def clean_instrument(self):
        isin = self.cleaned_data["instrument"].strip().upper()
        instrument = reference_selectors.instrument_get(isin) if isin.isprintable() else None
        if instrument is None:
            raise forms.ValidationError(f"No instrument with ISIN {isin!r}.")
        return instrument

    def clean_reason(self):
        return _text(self.cleaned_data["reason"])

    def clean(self):
        data = super().clean()
        start, end = data.get("effective_from"), data.get("effective_to")
        if start and end and end < start:
            self.add_error("effective_to", "Must not be before the first day.")
        return data


class RestrictedEndForm(forms.Form):
    reason = forms.CharField(max_length=services.REASON_MAX_LENGTH, label="Why it ends",
                             widget=forms.TextInput(attrs={"class": "medium", "placeholder": "e.g. deal announced"}))

    def clean_reason(self):
        return _text(self.cleaned_data["reason"])


def _page(request, *, add_form=None, status=200):
    roles.require_role(request, READERS)
    today = timezone.localdate()
    form = RestrictedFilterForm(request.GET)
    filters = form.restricted_filters(today)
    rows = selectors.restricted_list(**(filters or {}))
    if filters is None:
        rows = rows.none()
    page = page_of(request, rows)
    page.object_list = list(page.object_list)
    for entry in page.object_list:
        entry.state = entry.state_on(today)
    may_write = roles.user_has_role(request.user, *WRITERS)
    return render(request, "compliance/restricted_list.html", {
        "form": form, "page": page, "today": today, "may_write": may_write,
        "filtered": any(value.strip() for name, value in request.GET.items() if name != "page"),
        "add_form": add_form or (RestrictedAddForm(initial={"effective_from": today}) if may_write else None),
        "active_today": selectors.restricted_list(state=selectors.ACTIVE, today=today).count(),
    }, status=status)


@login_required
def restricted_list(request):
    return _page(request)


@login_required
@require_POST
def restricted_add(request):
    roles.require_role(request, WRITERS)
    form = RestrictedAddForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            entry = services.restricted_create(actor=request.user, instrument=data["instrument"],
                                               reason=data["reason"], effective_from=data["effective_from"],
                                               effective_to=data["effective_to"])
        except BusinessRuleError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, f"{entry.instrument.isin} is on the restricted list from "
                                      f"{entry.effective_from.isoformat()} (entry {entry.pk}).")
            return redirect("compliance:restricted-list")
    return _page(request, add_form=form, status=400)


@login_required
@require_POST
def restricted_end(request, entry_id: int):
    roles.require_role(request, WRITERS)
    form = RestrictedEndForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Entry {entry_id} was not ended: give the reason it ends.")
        return redirect("compliance:restricted-list")
    try:
        entry = services.restricted_end(actor=request.user, entry_id=entry_id, reason=form.cleaned_data["reason"])
    except BusinessRuleError as exc:  # already ended (a conflict), or gone
        messages.error(request, exc.message)
    else:
        if entry.withdrawn:
            messages.success(request, f"Entry {entry.pk} ({entry.instrument.isin}) is withdrawn: it never took effect.")
        else:
            messages.success(request, f"Entry {entry.pk} ({entry.instrument.isin}) ended: trades dated from "
                                      f"{timezone.localdate().isoformat()} on are no longer restricted by it.")
    return redirect("compliance:restricted-list")


urlpatterns = [
    path("restricted-list/", restricted_list, name="restricted-list"),
    path("restricted-list/add/", restricted_add, name="restricted-add"),
    path("restricted-list/<int:entry_id>/end/", restricted_end, name="restricted-end"),
]
