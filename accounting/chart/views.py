"""Dashboard pages of accounting/chart: the chart of accounts as a tree, with a form proposing a new account or a
change to one under maker-checker ("glaccount.change").

Accounting, operations and compliance read it; accounting proposes. Thin: parse, call one service or
selector, shape; a refusal shows on the form, never as a 500.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from accounting.chart import selectors
from accounting.chart.kinds import GLACCOUNT_CHANGE
from accounting.chart.validators import CHANGEABLE, gl_account_view
from accounting.models import GLAccount
from backoffice.core import roles
from backoffice.core.exceptions import BusinessRuleError, ConflictError
from records.approvals import kinds as approval_kinds
from records.approvals import selectors as approval_selectors
from records.approvals import services as approvals

READERS = (roles.ACCOUNTING, roles.OPERATIONS, roles.COMPLIANCE)


class GLAccountProposalForm(forms.Form):
    """A new account (creating) or a change to one (its code in `changing`): read by the kind's rules."""

    changing = forms.CharField(required=False, widget=forms.HiddenInput)
    code = forms.CharField(max_length=20, label="Code", widget=forms.TextInput(attrs={"class": "short",
                                                                                    "placeholder": "e.g. 5300"}))
    name = forms.CharField(max_length=200, label="Name", widget=forms.TextInput(attrs={"class": "wide"}))
    type = forms.ChoiceField(choices=GLAccount.Type.choices, label="Type")
    parent = forms.ChoiceField(required=False, label="Under")
    role = forms.ChoiceField(required=False, label="Role")
    is_monetary = forms.BooleanField(required=False, initial=True, label="Monetary (revalued at closing rates)")
    is_active = forms.BooleanField(required=False, initial=True, label="Active")
    reason = forms.CharField(max_length=1000, label="Reason", widget=forms.TextInput(
        attrs={"class": "wide", "placeholder": "e.g. a separate account for exchange fees"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["parent"].choices = [("", "— top level —"), *(
            (account.code, f"{account.code} {account.name}") for account in selectors.gl_account_list())]
        self.fields["role"].choices = [("", "— none: manual entries only —"),
                                       *((role, role) for role in selectors.assignable_roles())]

    @classmethod
    def for_change(cls, account: GLAccount):
        view = gl_account_view(account)
        return cls(initial={**view, "parent": view["parent"] or "", "role": view["role"] or "",
                            "changing": account.code})

    def payload(self) -> dict:
        data = self.cleaned_data
        values = {"name": data["name"], "parent": data["parent"] or None, "role": data["role"] or None,
                  "is_monetary": data["is_monetary"], "is_active": data["is_active"]}
        if data.get("changing"):
            account = selectors.gl_account_get(data["changing"])
            if account is None:
                raise BusinessRuleError("That GL account no longer exists.")
            current = gl_account_view(account)
            return {"code": account.code, "changes": {name: values[name] for name in CHANGEABLE
                                                      if values[name] != current[name]}}
        return {"code": data["code"], "type": data["type"], **values}


def _chart_page(request, *, proposal_form=None, status=200):
    roles.require_role(request, READERS)
    may_propose = approval_kinds.may_propose(request.user, GLACCOUNT_CHANGE)
    changing = None
    if proposal_form is None and may_propose:
        code = request.GET.get("change", "")
        changing = selectors.gl_account_get(code) if code else None
        proposal_form = GLAccountProposalForm.for_change(changing) if changing else GLAccountProposalForm()
    elif proposal_form is not None and proposal_form.data.get("changing"):
        changing = selectors.gl_account_get(proposal_form.data["changing"])
    pending = approval_selectors.change_request_list().filter(kind=GLACCOUNT_CHANGE, status="PENDING").order_by("id")
    return render(request, "accounting/chart/chart.html", {
        "rows": selectors.chart_tree(), "may_propose": may_propose, "proposal_form": proposal_form,
        "changing": changing, "pending": list(pending[:50]),
    }, status=status)


@login_required
def chart(request):
    return _chart_page(request)


@login_required
@require_POST
def chart_propose(request):
    roles.require_role(request, READERS)
    if not approval_kinds.may_propose(request.user, GLACCOUNT_CHANGE):
        raise PermissionDenied("Your role does not allow proposing changes to the chart of accounts.")
    form = GLAccountProposalForm(request.POST)
    if form.data.get("changing"):  # code and type stay what they are
        account = selectors.gl_account_get(form.data["changing"])
        data = form.data.copy()
        if account is not None:
            data.update({"code": account.code, "type": account.type})
        form = GLAccountProposalForm(data)
    if form.is_valid():
        try:
            change = approvals.change_propose(actor=request.user, kind=GLACCOUNT_CHANGE, payload=form.payload(),
                                              reason=form.cleaned_data["reason"])
        except BusinessRuleError as exc:
            if isinstance(exc, ConflictError) or exc.field not in form.fields:
                form.add_error(None, exc.message)
            else:
                form.add_error(exc.field, exc.message)
        else:
            messages.success(request, f"Proposed as change #{change.pk}: {change.summary}. It takes effect when "
                                      "another accounting user approves it.")
            return redirect("accounting:chart")
    return _chart_page(request, proposal_form=form, status=400)


urlpatterns = [
    path("chart/", chart, name="chart"),
    path("chart/propose/", chart_propose, name="chart-propose"),
]
