"""Writes of the chart of accounts: a new account, a change to one. Each audited.

Reached through maker-checker only (the "glaccount.change" kind, accounting/chart/kinds.py): the API,
the chart page and the admin propose, another accounting user approves, and applying it calls these
as the approver. The rules (accounting/chart/validators.py) are checked again here, under the
account's lock, since the chart may have moved since the proposal.
"""

from django.db import IntegrityError, transaction

from accounting.chart import selectors
from accounting.chart.validators import gl_account_create_check, gl_account_update_check
from accounting.models import GLAccount
from backoffice.core.exceptions import BusinessRuleError
from records.audit.services.audit import Actor, audit_log, snapshot


def _lock_chart() -> None:
    """Lock every account, in id order. Call inside an atomic block.

    The chart is small and changes rarely; holding all of it keeps two concurrent moves from making a loop
    (A under B while B goes under A) that each check alone would pass.
    """
    list(GLAccount.objects.select_for_update().order_by("id").values_list("id", flat=True))


def _unique_error(values: dict) -> BusinessRuleError:
    # Lost a race on a unique key (code or role) against a concurrent change.
    if selectors.gl_account_get(values.get("code", "")) is not None:
        return BusinessRuleError(f"GL account {values['code']} already exists.", field="code")
    return BusinessRuleError(f"Another account took the role {values.get('role')} meanwhile.", field="role")


@transaction.atomic
def gl_account_create(*, actor: Actor, code: str, name: str, type: str, parent: str | None = None,
                      role: str | None = None, is_monetary: bool = True, is_active: bool = True,
                      reason: str = "") -> GLAccount:
    """Add an account to the chart (parent by its code). BusinessRuleError on a rule it breaks."""
    _lock_chart()
    values = gl_account_create_check({"code": code, "name": name, "type": type, "parent": parent, "role": role,
                                      "is_monetary": is_monetary, "is_active": is_active})
    parent_account = selectors.gl_account_get(values.pop("parent")) if values.get("parent") else None
    values.pop("parent", None)
    try:
        with transaction.atomic():
            account = GLAccount.objects.create(parent=parent_account, **values)
    except IntegrityError:
        raise _unique_error({"code": code, "role": role}) from None
    audit_log(actor=actor, action="CREATE", instance=account, after=snapshot(account), reason=reason)
    return account


@transaction.atomic
def gl_account_update(*, actor: Actor, code: str, changes: dict, reason: str = "") -> GLAccount:
    """Change an account's name, parent, role (while it has no lines), active flag or monetary flag.

    changes holds the parent by its code. BusinessRuleError when the change breaks a rule or changes nothing.
    """
    _lock_chart()
    account = GLAccount.objects.select_related("parent").filter(code=code).first()
    if account is None:
        raise BusinessRuleError(f"Unknown GL account {code!r}.", field="code")
    changed = gl_account_update_check(account, changes)
    before = snapshot(account)
    for name, value in changed.items():
        if name == "parent":
            account.parent = selectors.gl_account_get(value) if value else None
        else:
            setattr(account, name, value)
    fields = ["parent" if name == "parent" else name for name in changed]
    try:
        with transaction.atomic():
            account.save(update_fields=[*fields, "updated_at"])
    except IntegrityError:
        raise _unique_error({"role": changed.get("role")}) from None
    audit_log(actor=actor, action="UPDATE", instance=account, before=before, after=snapshot(account), reason=reason)
    return account
