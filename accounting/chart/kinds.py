"""Maker-checker kinds of accounting/chart, registered with records' approvals (loaded by AccountingConfig.ready).

"glaccount.change": a new GL account or a change to one. Two payloads:

- a new account: {"code", "name", "type", "parent" (code or null), "role" (or null), "is_monetary",
  "is_active"};
- a change: {"code", "changes": {any of name, parent, role, is_active, is_monetary}} (only the fields that
  differ are kept; role only while the account has no lines).

Accounting proposes; another accounting user approves, which calls accounting.chart.services.
"""

from accounting.chart import selectors, services
from accounting.chart.validators import (
    gl_account_create_check,
    gl_account_update_check,
    gl_account_view,
    parse_gl_code,
)
from backoffice.core import roles
from backoffice.core.exceptions import BusinessRuleError, ConflictError
from records.approvals.kinds import Payload, register_change_kind
from records.approvals.services import applied_reason, change_being_applied

GLACCOUNT_CHANGE = "glaccount.change"
TARGET_TYPE = "accounting.glaccount"


def _account(payload: Payload):
    code = parse_gl_code(payload.get("code"))
    account = selectors.gl_account_get(code)
    if account is None:
        raise BusinessRuleError(f"Unknown GL account {code!r}.", field="code")
    return account


def _validate(payload: Payload) -> Payload:
    if "changes" in payload:
        unknown = sorted(set(payload) - {"code", "changes"})
        if unknown:
            raise BusinessRuleError("Unknown field; expected code and changes.", field=unknown[0])
        account = _account(payload)
        return {"code": account.code, "changes": gl_account_update_check(account, payload["changes"])}
    return gl_account_create_check(payload)


def _target(payload: Payload):
    if "changes" in payload:
        return TARGET_TYPE, payload["code"], gl_account_view(_account(payload))
    return TARGET_TYPE, payload["code"], None


def _shown(value) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _describe(payload: Payload) -> str:
    if "changes" in payload:
        changes = ", ".join(f"{name.replace('_', ' ')} {_shown(value)}" for name, value in payload["changes"].items())
        return f"Change GL account {payload['code']}: {changes}"
    where = f" under {payload['parent']}" if payload.get("parent") else ""
    role = f", role {payload['role']}" if payload.get("role") else ""
    return f"New GL account {payload['code']} {payload['name']} ({payload['type'].lower()}{where}{role})"


def _require_unchanged(account, changes: dict) -> None:
    """Refuse to apply a change over fields someone else changed after it was proposed."""
    change = change_being_applied()
    if change is None or not isinstance(change.before, dict):
        return
    current = gl_account_view(account)
    moved = [name for name in changes if change.before.get(name) != current.get(name)]
    if moved:
        raise ConflictError(f"{', '.join(moved)} changed after this change was proposed; propose it again.")


def _apply(payload: Payload, actor) -> dict:
    reason = applied_reason(default="chart of accounts change approved")
    if "changes" in payload:
        account = _account(payload)
        _require_unchanged(account, payload["changes"])
        account = services.gl_account_update(actor=actor, code=account.code, changes=payload["changes"],
                                             reason=reason)
    else:
        account = services.gl_account_create(actor=actor, reason=reason, **payload)
    return {"gl_account": account.code, "id": account.pk, "after": gl_account_view(account)}


register_change_kind(
    GLACCOUNT_CHANGE, label="chart of accounts change", apply=_apply, validate=_validate, target=_target,
    describe=_describe, approver_roles=(roles.ACCOUNTING,), proposer_roles=(roles.ACCOUNTING,))
