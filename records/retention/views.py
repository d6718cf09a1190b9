"""Dashboard page of retention: the retention policies, legal holds and purge tombstones.

Operations, compliance and accounting see it; operations and compliance place and release
holds. Views parse a form, call one service or selector and render; a refused action shows its
reason on the page.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from backoffice.core import roles
from backoffice.core.exceptions import BusinessRuleError
from backoffice.core.roles import require_role
from records.reference import selectors as reference_selectors
from records.retention import selectors
from records.retention import services as retention
from records.retention.models import LegalHold

READERS = (roles.OPERATIONS, roles.COMPLIANCE, roles.ACCOUNTING)
HOLD_MANAGERS = (roles.OPERATIONS, roles.COMPLIANCE)


class LegalHoldForm(forms.Form):
    scope = forms.ChoiceField(choices=LegalHold.Scope.choices)
    account = forms.CharField(required=False, max_length=30, label="Account",
                              widget=forms.TextInput(attrs={"placeholder": "Account code"}))
    instrument = forms.CharField(required=False, max_length=20, label="Instrument",
                                 widget=forms.TextInput(attrs={"placeholder": "ISIN or symbol"}))
    record_type = forms.CharField(required=False, max_length=100, label="Record type",
                                  widget=forms.TextInput(attrs={"placeholder": "records.trade"}))
    record_id = forms.CharField(required=False, max_length=100, label="Record id")
    matter = forms.CharField(required=False, max_length=100, label="Matter",
                             widget=forms.TextInput(attrs={"placeholder": "Case reference"}))
    reason = forms.CharField(max_length=1000, label="Reason")

    def clean_account(self):
        code = self.cleaned_data["account"].strip()
        if not code:
            return None
        account = reference_selectors.account_find(code)
        if account is None:
            raise forms.ValidationError(f"No account {code!r}.")
        return account

    def clean_instrument(self):
        key = self.cleaned_data["instrument"].strip()
        if not key:
            return None
        found = reference_selectors.instruments_find(key)
        if not found:
            raise forms.ValidationError(f"No instrument {key!r}.")
        if len(found) > 1:
            raise forms.ValidationError(f"{key!r} names {len(found)} instruments: give the ISIN.")
        return found[0]


class ReleaseForm(forms.Form):
    reason = forms.CharField(max_length=1000)


def _retention_page(request, hold_form: LegalHoldForm, *, status: int = 200):
    today = timezone.localdate()
    return render(request, "records/retention.html", {
        "today": today,
        "policies": selectors.retention_policy_rows(today=today),
        "active_holds": selectors.legal_hold_list(active=True),
        "released_holds": selectors.legal_hold_list(active=False)[:50],
        "tombstones": selectors.purge_tombstones(),
        "hold_form": hold_form,
        "can_manage_holds": roles.user_has_role(request.user, *HOLD_MANAGERS),
    }, status=status)


@login_required
def retention_page(request):
    require_role(request, READERS)
    return _retention_page(request, LegalHoldForm())


@login_required
@require_POST
def legal_hold_place(request):
    require_role(request, HOLD_MANAGERS)
    form = LegalHoldForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            hold = retention.legal_hold_place(
                actor=request.user, scope=data["scope"], account=data["account"], instrument=data["instrument"],
                record_type=data["record_type"], record_id=data["record_id"], reason=data["reason"],
                matter=data["matter"])
        except BusinessRuleError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, f"Legal hold #{hold.pk} placed: {hold}.")
            return redirect("records:retention")
    return _retention_page(request, form, status=400)


@login_required
@require_POST
def legal_hold_release(request, hold_id: int):
    require_role(request, HOLD_MANAGERS)
    form = ReleaseForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Hold #{hold_id} not released: say why it is released.")
        return redirect("records:retention")
    try:
        hold = retention.legal_hold_release(actor=request.user, hold_id=hold_id, reason=form.cleaned_data["reason"])
    except BusinessRuleError as exc:
        messages.error(request, f"Hold #{hold_id} not released: {exc.message}")
    else:
        messages.success(request, f"Legal hold #{hold.pk} released.")
    return redirect("records:retention")
