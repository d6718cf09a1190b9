"""Dashboard pages of accounting/periods: the last 24 months with their status, entries and debits; closing a
month (at once, after a confirmation) and proposing to reopen one (maker-checker, "period.reopen").

Accounting, operations and compliance read it; accounting acts. Thin: parse, call one service or
selector, shape; a refusal is shown as a message, never as a 500.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import re_path
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounting.periods import selectors, services
from accounting.periods.kinds import PERIOD_REOPEN
from backoffice.core import roles
from backoffice.core.exceptions import BusinessRuleError
from records.approvals import selectors as approval_selectors
from records.approvals import services as approvals

READERS = (roles.ACCOUNTING, roles.OPERATIONS, roles.COMPLIANCE)
WRITERS = (roles.ACCOUNTING,)


@login_required
def periods(request):
    roles.require_role(request, READERS)
    pending = {change.target_id: change for change in approval_selectors.change_request_list()
               .filter(kind=PERIOD_REOPEN, status="PENDING")}
    rows = selectors.period_months(today=timezone.localdate())
    for row in rows:
        row.pending = pending.get(row.month)
    return render(request, "accounting/periods/periods.html", {
        "rows": rows, "may_act": roles.user_has_role(request.user, *WRITERS),
    })


def _month(request, month: str):
    try:
        return selectors.parse_month(month)
    except BusinessRuleError as exc:
        messages.error(request, exc.message)
        return None


@login_required
@require_POST
def period_close(request, month: str):
    roles.require_role(request, WRITERS)
    start = _month(request, month)
    if start is not None:
        try:
            services.period_close(actor=request.user, month=start, reason=request.POST.get("reason", "").strip())
        except BusinessRuleError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"{month} is closed: it takes no more postings.")
    return redirect("accounting:periods")


@login_required
@require_POST
def period_reopen(request, month: str):
    roles.require_role(request, WRITERS)
    start = _month(request, month)
    reason = request.POST.get("reason", "").strip()
    if start is not None:
        try:
            change = approvals.change_propose(actor=request.user, kind=PERIOD_REOPEN,
                                              payload={"month": f"{start:%Y-%m}"}, reason=reason)
        except BusinessRuleError as exc:
            messages.error(request, f"{month}: {exc.message}")
        else:
            messages.success(request, f"Reopening {month} is proposed as change #{change.pk}: it reopens when "
                                      "another accounting user approves it.")
    return redirect("accounting:periods")


_MONTH = r"(?P<month>\d{4}-\d{2})"

urlpatterns = [
    re_path(r"^periods/$", periods, name="periods"),
    re_path(rf"^periods/{_MONTH}/close/$", period_close, name="period-close"),
    re_path(rf"^periods/{_MONTH}/reopen/$", period_reopen, name="period-reopen"),
]
