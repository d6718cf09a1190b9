"""The maker-checker kind of compliance rules, registered with records' approvals (by ComplianceConfig.ready).

"compliance.rule.change": a new rule or a change to one. Two payloads:

- a new rule: {"code", "name", "kind", "scope", "scope_value", "threshold", "params", "action", "severity",
  "active", "effective_from", "effective_to"} (compliance/rules/validators.py says what each may be);
- a change: {"code", "changes": {any of name, scope, scope_value, threshold, params, action, severity, active,
  effective_from, effective_to}} (only the fields that differ are kept; code and kind never change).

Compliance proposes; another compliance user (or a superuser, never for their own proposal) approves,
which calls compliance.rules.services as the approver.
"""

from backoffice.core import roles
from backoffice.core.exceptions import BusinessRuleError, ConflictError
from compliance.rules import services
from compliance.rules.models import ComplianceRule
from compliance.rules.validators import (
    as_payload,
    kind_spec,
    parse_rule_code,
    rule_create_check,
    rule_update_check,
    rule_view,
)
from records.approvals.kinds import Payload, register_change_kind
from records.approvals.services import applied_reason, change_being_applied

RULE_CHANGE = "compliance.rule.change"
TARGET_TYPE = "compliance.compliancerule"


def _rule(payload: Payload) -> ComplianceRule:
    code = parse_rule_code(payload.get("code"))
    rule = ComplianceRule.objects.filter(code=code).first()
    if rule is None:
        raise BusinessRuleError(f"Unknown compliance rule {code!r}.", field="code")
    return rule


def _validate(payload: Payload) -> Payload:
    if "changes" in payload:
        unknown = sorted(str(name) for name in payload if name not in ("code", "changes"))
        if unknown:
            raise BusinessRuleError("Unknown field; expected code and changes.", field=unknown[0])
        rule = _rule(payload)
        return {"code": rule.code, "changes": as_payload(rule_update_check(rule, payload["changes"]))}
    return as_payload(rule_create_check(payload))


def _target(payload: Payload):
    if "changes" in payload:
        return TARGET_TYPE, payload["code"], rule_view(_rule(payload))
    return TARGET_TYPE, payload["code"], None


def shown(name: str, value, kind: str | None = None) -> str:
    """A field's value as one reads it in a summary."""
    if value is None or value == "":
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return ", ".join(f"{key} {shown(key, item)}" for key, item in value.items()) or "none"
    if name == "threshold" and kind:
        unit = kind_spec(kind).unit
        return f"{value}%" if unit.startswith("%") else str(value)
    return str(value)


def _describe(payload: Payload) -> str:
    if "changes" in payload:
        rule = ComplianceRule.objects.filter(code=payload["code"]).first()
        kind = rule.kind if rule is not None else None
        if payload["changes"].get("active") is False and len(payload["changes"]) == 1:
            return f"Deactivate compliance rule {payload['code']}"
        changes = ", ".join(f"{name.replace('_', ' ')} {shown(name, value, kind)}"
                            for name, value in payload["changes"].items())
        return f"Change compliance rule {payload['code']}: {changes}"
    scope = "every trade" if payload["scope"] == "ALL" else f"{payload['scope'].lower()} {payload['scope_value']}"
    threshold = f" at {shown('threshold', payload['threshold'], payload['kind'])}" if payload["threshold"] else ""
    return (f"New compliance rule {payload['code']}: {payload['kind']}{threshold}, {payload['action']}, "
            f"{payload['severity']}, {scope}")


def _require_unchanged(rule: ComplianceRule, changes: dict) -> None:
    """Refuse to apply a change over fields someone else changed after it was proposed."""
    change = change_being_applied()
    if change is None or not isinstance(change.before, dict):
        return
    current = rule_view(rule)
    moved = [name for name in changes if change.before.get(name) != current.get(name)]
    if moved:
        raise ConflictError(f"{', '.join(moved)} changed after this change was proposed; propose it again.")


def _apply(payload: Payload, actor) -> dict:
    reason = applied_reason(default="compliance rule change approved")
    if "changes" in payload:
        rule = _rule(payload)
        _require_unchanged(rule, payload["changes"])
        rule = services.rule_update(actor=actor, code_or_id=rule.code, changes=payload["changes"], reason=reason)
    else:
        rule = services.rule_create(actor=actor, reason=reason, **payload)
    return {"rule": rule.code, "id": rule.pk, "version": rule.version, "after": rule_view(rule)}


register_change_kind(
    RULE_CHANGE, label="compliance rule change", apply=_apply, validate=_validate, target=_target,
    describe=_describe, approver_roles=(roles.COMPLIANCE,), proposer_roles=(roles.COMPLIANCE,))
