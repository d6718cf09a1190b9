"""The rules of the chart of accounts, checked when a change is proposed and again when it is applied.

A payload holds an account by its code and its parent by the parent's code. Each refusal is a
BusinessRuleError on the field at fault (the API's 400).
"""

import re

from accounting.chart import selectors
from accounting.models import GLAccount
from backoffice.core.exceptions import BusinessRuleError
from backoffice.core.fields import NULL, REQUIRED, InputError, parse_text

CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,19}$")
ROLE = re.compile(r"^[A-Z][A-Z0-9_]{0,39}$")
CHANGEABLE = ("name", "parent", "role", "is_active", "is_monetary")
CREATE_FIELDS = ("code", "name", "type", *CHANGEABLE)


def parse_gl_code(value, *, field: str = "code") -> str:
    if value is None:
        raise BusinessRuleError(NULL, field=field)
    if not isinstance(value, str) or not CODE.fullmatch(value.strip()):
        raise BusinessRuleError("A GL account code: letters, digits, '.', '_' or '-', up to 20 characters.",
                                field=field)
    return value.strip()


def _only(data: dict, allowed) -> None:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise BusinessRuleError(f"Unknown field; expected one of {', '.join(allowed)}.", field=unknown[0])


def _boolean(data: dict, name: str):
    value = data[name]
    if not isinstance(value, bool):
        raise BusinessRuleError("Must be true or false.", field=name)
    return value


def _fields(data: dict, *, creating: bool) -> dict:
    """The typed values of the fields present (all, with defaults, when creating)."""
    values = {}
    if creating:
        for name in ("code", "name", "type"):
            if data.get(name) in (None, ""):
                raise BusinessRuleError(REQUIRED, field=name)
        values["code"] = parse_gl_code(data["code"])
        type_ = data["type"]
        if type_ not in GLAccount.Type.values:
            raise BusinessRuleError(f"{type_!r} is not a valid choice ({', '.join(GLAccount.Type.values)}).",
                                    field="type")
        values["type"] = type_
    if "name" in data:
        try:
            values["name"] = parse_text(data["name"], max_length=200)
        except InputError as exc:
            raise BusinessRuleError(exc.message, field="name") from None
    if "parent" in data or creating:
        parent = data.get("parent")
        values["parent"] = None if parent in (None, "") else parse_gl_code(parent, field="parent")
    if "role" in data or creating:
        role = data.get("role")
        if role in (None, ""):
            values["role"] = None
        elif not isinstance(role, str) or not ROLE.fullmatch(role.strip()):
            raise BusinessRuleError("A role is an upper-case name such as CASH, or null.", field="role")
        else:
            values["role"] = role.strip()
    for name, default in (("is_active", True), ("is_monetary", True)):
        if name in data:
            values[name] = _boolean(data, name)
        elif creating:
            values[name] = default
    return values


def gl_account_view(account: GLAccount) -> dict:
    """An account as a payload holds it (its before, in a change's diff)."""
    return {"code": account.code, "name": account.name, "type": account.type,
            "parent": account.parent.code if account.parent_id else None, "role": account.role,
            "is_active": account.is_active, "is_monetary": account.is_monetary}


def _check_parent(parent_code: str | None, *, type_: str, account: GLAccount | None = None) -> GLAccount | None:
    if parent_code is None:
        return None
    parent = selectors.gl_account_get(parent_code)
    if parent is None:
        raise BusinessRuleError(f"Unknown GL account {parent_code!r}.", field="parent")
    if parent.type != type_:
        raise BusinessRuleError(f"{parent.code} is a {parent.get_type_display().lower()} account: the parent of a "
                                f"{type_.lower()} account has its type.", field="parent")
    if account is not None:
        seen, ancestor = set(), parent
        while ancestor is not None and ancestor.pk not in seen:
            if ancestor.pk == account.pk:
                raise BusinessRuleError(f"{parent.code} is {account.code} itself or one of its sub-accounts: the "
                                        "chart would loop.", field="parent")
            seen.add(ancestor.pk)
            ancestor = ancestor.parent
    return parent


def _check_role(role: str | None, *, account: GLAccount | None = None) -> None:
    current = account.role if account is not None else None
    if role == current:
        return
    if account is not None and selectors.gl_account_has_lines(account):
        raise BusinessRuleError(f"{account.code} has journal lines: its role no longer changes (the lines were "
                                f"posted to it as {current or 'an account without a role'}).", field="role")
    if current in selectors.rule_roles():
        raise BusinessRuleError(f"The posting rules post to {current}: an account must keep that role.",
                                field="role")
    if role is None:
        return
    if role not in selectors.assignable_roles():
        raise BusinessRuleError(f"{role!r} is not a role the posting rules use "
                                f"({', '.join(sorted(selectors.rule_roles()))}).", field="role")
    holder = selectors.gl_account_list(role=role).first()
    if holder is not None:
        raise BusinessRuleError(f"{holder.code} {holder.name} already has the role {role}.", field="role")


def gl_account_create_check(payload: dict) -> dict:
    """The canonical payload of a new account, or a BusinessRuleError on the first field at fault."""
    _only(payload, CREATE_FIELDS)
    values = _fields(payload, creating=True)
    if selectors.gl_account_get(values["code"]) is not None:
        raise BusinessRuleError(f"GL account {values['code']} already exists.", field="code")
    _check_parent(values["parent"], type_=values["type"])
    _check_role(values["role"])
    return values


def gl_account_update_check(account: GLAccount, changes: dict) -> dict:
    """The fields of changes that differ from the account, typed and checked; BusinessRuleError when none does
    or one breaks a rule."""
    if not isinstance(changes, dict):
        raise BusinessRuleError("Must be an object.", field="changes")
    _only(changes, CHANGEABLE)
    values = _fields(changes, creating=False)
    current = gl_account_view(account)
    changed = {name: value for name, value in values.items() if current[name] != value}
    if not changed:
        raise BusinessRuleError("The change changes nothing.")
    if "parent" in changed:
        _check_parent(changed["parent"], type_=account.type, account=account)
    if "role" in changed:
        _check_role(changed["role"], account=account)
    if changed.get("is_active") is False and (changed.get("role", account.role)):
        raise BusinessRuleError(f"The posting rules post to {account.code} ({account.role}): it stays active.",
                                field="is_active")
    return changed
