"""The pages of short-sale compliance (included by compliance/urls.py): /compliance/locates/ and
/compliance/penalty-box/.

Locates: compliance, operations (the stock-loan desk) and accounting read; compliance and operations record and
end them. Penalty box: the same readers; compliance releases. Thin: parse, call one service or selector, shape;
a refusal is shown on the form or as a message.
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
from backoffice.core.fields import QUANTITY, InputError, parse_decimal, parse_text
from backoffice.core.forms import DateInput, ReferenceFilterForm, page_of, with_all
from compliance.shorts import selectors, services
from compliance.shorts.models import Locate
from records.reference import selectors as reference_selectors

READERS = (roles.COMPLIANCE, roles.OPERATIONS, roles.ACCOUNTING, roles.FRONT_OFFICE)
LOCATE_WRITERS = (roles.COMPLIANCE, roles.OPERATIONS)
BOX_WRITERS = (roles.COMPLIANCE,)
ALL = "ALL"


def _text(value: str, *, max_length: int = services.REASON_MAX_LENGTH) -> str:
    try:
        return parse_text(value, max_length=max_length)
    except InputError as exc:
        raise forms.ValidationError(exc.message) from None


class ShortsFilterForm(ReferenceFilterForm):
    account = forms.CharField(required=False, max_length=40, label="Account",
                              widget=forms.TextInput(attrs={"placeholder": "Account code", "class": "medium"}))
    instrument = forms.CharField(required=False, max_length=20, label="Instrument",
                                 widget=forms.TextInput(attrs={"placeholder": "ISIN or symbol", "class": "medium"}))

    reference_fields = ("account", "instrument")

    def clean_account(self):
        code = self.cleaned_data.get("account", "").strip()
        if not code:
            return None
        account = reference_selectors.account_find(code) if code.isprintable() else None
        if account is None:
            raise forms.ValidationError(f"No account {code!r}.")
        return [account]

    def clean_instrument(self):
        return self._resolve("instrument", reference_selectors.instruments_find, "instrument with ISIN or symbol")

    def lists(self) -> dict | None:
        filters = self.selector_filters()
        if filters is None:
            return None
        for name in ("account", "instrument"):
            if name in filters:
                filters[name + "s"] = filters.pop(name)
        return filters


class LocateFilterForm(ShortsFilterForm):
    kind = forms.ChoiceField(required=False, label="Kind", choices=with_all(Locate.Kind.choices))
    active_on = forms.DateField(required=False, label="Covering", widget=DateInput)
    state = forms.ChoiceField(required=False, label="Show", choices=[
        ("", "In force or upcoming"), (selectors.ACTIVE, "In force today"), (selectors.FUTURE, "Upcoming"),
        (selectors.ENDED, "Past (ended, withdrawn)"), (ALL, "All")])

    def locate_filters(self, today) -> dict | None:
        filters = self.lists()
        if filters is None:
            return None
        state = filters.pop("state", "") or selectors.CURRENT
        if state != ALL and "active_on" not in filters:
            filters.update(state=state, today=today)
        return filters


class LocateAddForm(forms.Form):
    account = forms.CharField(max_length=40, label="Account",
                              widget=forms.TextInput(attrs={"class": "short", "placeholder": "CL-PF-001"}))
    instrument = forms.CharField(max_length=12, label="Instrument (ISIN)",
                                 widget=forms.TextInput(attrs={"class": "medium", "placeholder": "US0378331005"}))
    kind = forms.ChoiceField(choices=Locate.Kind.choices, label="Kind")
    quantity = forms.CharField(max_length=40, label="Quantity", widget=forms.TextInput(
        attrs={"class": "short num", "inputmode": "decimal", "placeholder": "5000"}))
    source = forms.CharField(max_length=services.SOURCE_MAX_LENGTH, label="Source", widget=forms.TextInput(
        attrs={"class": "medium", "placeholder": "e.g. Prime broker A, easy-to-borrow"}))
    reference = forms.CharField(max_length=services.REFERENCE_MAX_LENGTH, label="Reference", widget=forms.TextInput(
        attrs={"class": "medium", "placeholder": "lender's reference"}))
    valid_from = forms.DateField(label="Valid from", widget=DateInput)
    valid_to = forms.DateField(required=False, label="Valid to", widget=DateInput,
                               help_text="Empty: the same day for a locate, until returned for a borrow.")

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "add-%s")  # the filter bar on the same page has account and instrument too
        super().__init__(*args, **kwargs)

    def clean_account(self):
        code = self.cleaned_data["account"].strip()
        account = reference_selectors.account_get(code) if code.isprintable() else None
        if account is None:
            raise forms.ValidationError(f"No account {code!r}.")
        return account

    def clean_instrument(self):
        isin = self.cleaned_data["instrument"].strip().upper()
        instrument = reference_selectors.instrument_get(isin) if isin.isprintable() else None
        if instrument is None:
            raise forms.ValidationError(f"No instrument with ISIN {isin!r}.")
        return instrument

    def clean_quantity(self):
        try:
            return parse_decimal(self.cleaned_data["quantity"].strip().replace(",", ""), kind=QUANTITY, positive=True)
        except InputError as exc:
            raise forms.ValidationError(exc.message) from None

    def clean_source(self):
        return _text(self.cleaned_data["source"], max_length=services.SOURCE_MAX_LENGTH)

    def clean_reference(self):
        return _text(self.cleaned_data["reference"], max_length=services.REFERENCE_MAX_LENGTH)

    def clean(self):
        data = super().clean()
        start, end = data.get("valid_from"), data.get("valid_to")
        if start and end and end < start:
            self.add_error("valid_to", "Must not be before the first day.")
        return data


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=services.REASON_MAX_LENGTH)

    def clean_reason(self):
        return _text(self.cleaned_data["reason"])


def _locates_page(request, *, add_form=None, status=200):
    roles.require_role(request, READERS)
    today = timezone.localdate()
    form = LocateFilterForm(request.GET)
    filters = form.locate_filters(today)
    rows = selectors.locate_list(**(filters or {}))
    if filters is None:
        rows = rows.none()
    page = page_of(request, rows)
    page.object_list = list(page.object_list)
    for locate in page.object_list:
        locate.state = selectors.locate_state(locate, today)
    totals_day = (filters or {}).get("active_on") or today
    totals_rows = selectors.locate_list(**{k: v for k, v in (filters or {}).items()
                                           if k in ("accounts", "instruments", "kind")})
    may_write = roles.user_has_role(request.user, *LOCATE_WRITERS)
    return render(request, "compliance/locates.html", {
        "form": form, "page": page, "today": today, "may_write": may_write,
        "filtered": any(value.strip() for name, value in request.GET.items() if name != "page"),
        "add_form": add_form or (LocateAddForm(initial={"valid_from": today}) if may_write else None),
        "totals": selectors.locate_totals(day=totals_day, rows=totals_rows if filters is not None else rows),
        "totals_day": totals_day,
    }, status=status)


@login_required
def locate_list(request):
    return _locates_page(request)


@login_required
@require_POST
def locate_add(request):
    roles.require_role(request, LOCATE_WRITERS)
    form = LocateAddForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            locate = services.locate_create(actor=request.user, **data)
        except BusinessRuleError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            until = locate.valid_to.isoformat() if locate.valid_to else "returned"
            messages.success(request, f"{locate.get_kind_display()} {locate.reference} recorded: "
                                      f"{locate.quantity.normalize():,f} {locate.instrument.isin} for "
                                      f"{locate.account.code}, {locate.valid_from.isoformat()} to {until}.")
            return redirect("compliance:locates")
    return _locates_page(request, add_form=form, status=400)


@login_required
@require_POST
def locate_end(request, locate_id: int):
    roles.require_role(request, LOCATE_WRITERS)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Locate {locate_id} was not ended: give the reason it ends.")
        return redirect("compliance:locates")
    try:
        locate = services.locate_end(actor=request.user, locate_id=locate_id, reason=form.cleaned_data["reason"])
    except BusinessRuleError as exc:  # already over (a conflict), or gone
        messages.error(request, exc.message)
    else:
        what = f"{locate.get_kind_display()} {locate.reference}"
        if selectors.locate_state(locate, timezone.localdate()) == selectors.WITHDRAWN:
            messages.success(request, f"{what} is withdrawn: it never covers a short sale.")
        else:
            messages.success(request, f"{what} ended: it covers short sales up to "
                                      f"{locate.valid_to.isoformat()}, none from today on.")
    return redirect("compliance:locates")


# The penalty box ------------------------------------------------------------------------------------

OPEN, RELEASED = "OPEN", "RELEASED"


class PenaltyBoxFilterForm(ShortsFilterForm):
    show = forms.ChoiceField(required=False, label="Show", choices=[
        ("", "In the box"), (RELEASED, "Released"), (ALL, "All")])

    def box_filters(self) -> dict | None:
        filters = self.lists()
        if filters is None:
            return None
        show = filters.pop("show", "")
        if show != ALL:
            filters["is_open"] = show != RELEASED
        return filters


@login_required
def penalty_box(request):
    roles.require_role(request, READERS)
    today = timezone.localdate()
    form = PenaltyBoxFilterForm(request.GET)
    filters = form.box_filters()
    rows = selectors.penalty_box_list(**(filters or {}))
    if filters is None:
        rows = rows.none()
    page = page_of(request, rows)
    page.object_list = list(page.object_list)
    for entry in page.object_list:
        entry.days_in_box = ((entry.released_on or today) - entry.since).days
    return render(request, "compliance/penalty_box.html", {
        "form": form, "page": page, "today": today, "may_release": roles.user_has_role(request.user, *BOX_WRITERS),
        "filtered": any(value.strip() for name, value in request.GET.items() if name != "page"),
        "open_count": selectors.penalty_box_list(is_open=True).count(),
    })


@login_required
@require_POST
def penalty_box_release(request, entry_id: int):
    roles.require_role(request, BOX_WRITERS)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Entry {entry_id} was not released: give the reason.")
        return redirect("compliance:penalty-box")
    try:
        entry = services.penalty_box_release(actor=request.user, entry_id=entry_id,
                                             reason=form.cleaned_data["reason"])
    except BusinessRuleError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{entry.account.code} released from the penalty box for {entry.instrument.isin}: "
                                  f"its short sales there no longer need a pre-borrow.")
    return redirect("compliance:penalty-box")


urlpatterns = [
    path("locates/", locate_list, name="locates"),
    path("locates/add/", locate_add, name="locate-add"),
    path("locates/<int:locate_id>/end/", locate_end, name="locate-end"),
    path("penalty-box/", penalty_box, name="penalty-box"),
    path("penalty-box/<int:entry_id>/release/", penalty_box_release, name="penalty-box-release"),
]
