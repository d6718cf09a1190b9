"""Maker-checker kinds of accounting/periods, registered with records' approvals (loaded by AccountingConfig.ready).

"period.reopen": {"month": "YYYY-MM"} reopens a closed month. Accounting proposes; another accounting
user approves, which calls accounting.periods.services.period_reopen. Proposing it for an open month
is a conflict (409).
"""

from accounting.models import Period
from accounting.periods import selectors, services
from backoffice.core import roles
from backoffice.core.exceptions import BusinessRuleError, ConflictError
from records.approvals.kinds import Payload, register_change_kind
from records.approvals.services import applied_reason

PERIOD_REOPEN = "period.reopen"
TARGET_TYPE = "accounting.period"


def period_view(period: Period) -> dict:
    return {"month": f"{period.start:%Y-%m}", "status": period.status,
            "closed_at": period.closed_at.isoformat() if period.closed_at else None,
            "closed_by": period.closed_by.get_username() if period.closed_by_id else None}


def _validate(payload: Payload) -> Payload:
    unknown = sorted(set(payload) - {"month"})
    if unknown:
        raise BusinessRuleError("Unknown field; expected month.", field=unknown[0])
    start = selectors.parse_month(payload.get("month"))
    if selectors.period_get(start).status != Period.Status.CLOSED:
        raise ConflictError(f"The period {start:%Y-%m} is open: there is nothing to reopen.")
    return {"month": f"{start:%Y-%m}"}


def _target(payload: Payload):
    return TARGET_TYPE, payload["month"], period_view(selectors.period_get(selectors.parse_month(payload["month"])))


def _preview(payload: Payload, before: dict | None) -> dict:
    return {**(before or {}), "status": Period.Status.OPEN, "closed_at": None, "closed_by": None}


def _describe(payload: Payload) -> str:
    return f"Reopen the accounting period {payload['month']}"


def _apply(payload: Payload, actor) -> dict:
    period = services.period_reopen(actor=actor, month=selectors.parse_month(payload["month"]),
                                    reason=applied_reason(default=f"period {payload['month']} reopened"))
    return {"period": payload["month"], "status": period.status}


register_change_kind(
    PERIOD_REOPEN, label="period reopening", apply=_apply, validate=_validate, target=_target, preview=_preview,
    describe=_describe, approver_roles=(roles.ACCOUNTING,), proposer_roles=(roles.ACCOUNTING,))
