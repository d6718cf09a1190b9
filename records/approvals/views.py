"""The dashboard page of maker-checker: the changes the user may decide, and their own proposals.

Views parse the form, call one approvals service and redirect back with a message; a refused
decision (one's own proposal, a kind one's roles do not cover, already decided) shows its reason.
"""

import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from backoffice.core.exceptions import BusinessRuleError
from records.approvals import kinds
from records.approvals import selectors as approval_selectors
from records.approvals import services as approvals
from records.approvals.models import ChangeRequest

PAGE_SIZE = 50
TABS = ("decide", "mine")


_DECIMAL = re.compile(r"-?\d+(\.\d+)?")


def _shown(value) -> str:
    """A payload value as operations staff read it: decimals grouped by thousands, exactly."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return "; ".join(str(v) for v in value) or "—"
    text = str(value)
    if _DECIMAL.fullmatch(text):
        whole, dot, fraction = text.partition(".")
        sign = "-" if whole.startswith("-") else ""
        return f"{sign}{int(whole.lstrip('-')):,}{dot}{fraction}"
    return text


def _with_diff(changes):
    for change in changes:
        change.diff = [{"field": row.field.replace("_", " "), "before": _shown(row.before),
                        "after": _shown(row.after), "changed": row.changed}
                       for row in kinds.change_diff(change)]
        change.kind_label = kinds.change_kind_label(change.kind)
    return changes


@login_required
def approvals_page(request):
    tab = request.GET.get("tab") if request.GET.get("tab") in TABS else "decide"
    to_decide = approval_selectors.change_requests_to_decide(request.user)
    mine = approval_selectors.change_request_search(request.user, mine=True)
    rows = to_decide if tab == "decide" else mine
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = _with_diff(list(page.object_list))
    return render(request, "records/approvals.html", {
        "tab": tab, "page": page,
        "to_decide_count": to_decide.count(),
        "mine_pending_count": mine.filter(status=ChangeRequest.Status.PENDING).count(),
    })


def _back(request):
    tab = request.POST.get("tab")
    url = reverse("records:approvals")
    return redirect(f"{url}?tab={tab}" if tab in TABS else url)


def _decide(request, decision, change_id: int, **kwargs):
    try:
        change = decision(actor=request.user, change_id=change_id, **kwargs)
    except BusinessRuleError as exc:
        messages.error(request, f"Change #{change_id}: {exc.message}")
        return None
    return change


@login_required
@require_POST
def approval_approve(request, change_id: int):
    change = _decide(request, approvals.change_approve, change_id, reason=request.POST.get("reason", ""))
    if change is not None and change.status == ChangeRequest.Status.FAILED:
        messages.warning(request, f"Change #{change.pk} was approved but could not be applied: "
                                  f"{change.result.get('error')} Nothing of it was applied.")
    elif change is not None:
        messages.success(request, f"Change #{change.pk} approved and applied: {change.summary}.")
    return _back(request)


@login_required
@require_POST
def approval_reject(request, change_id: int):
    change = _decide(request, approvals.change_reject, change_id, reason=request.POST.get("reason", ""))
    if change is not None:
        messages.success(request, f"Change #{change.pk} rejected.")
    return _back(request)


@login_required
@require_POST
def approval_withdraw(request, change_id: int):
    change = _decide(request, approvals.change_withdraw, change_id, reason=request.POST.get("reason", ""))
    if change is not None:
        messages.success(request, f"Change #{change.pk} withdrawn.")
    return _back(request)
