"""Writes of the compliance rules: a new rule, a change to one. Each audited; a rule is never deleted.

Reached through maker-checker ("compliance.rule.change", compliance/rules/kinds.py): the API, the rule
editor page and the admin propose, another compliance user approves, and applying it calls these as the
approver. The rules of compliance/rules/validators.py are checked again here, under the rule's lock.

Every change keeps the rule as it was in RuleVersion (append-only: its version, every field, who changed
it, when and why) and bumps ``version``, so an alert or a refusal names the version that raised it.
Deactivating a rule is a change (active false): alerts reference it.
"""

from django.db import IntegrityError, transaction
from django.utils import timezone

from backoffice.core.exceptions import BusinessRuleError
from compliance.rules.models import ComplianceRule, RuleVersion
from compliance.rules.validators import rule_create_check, rule_update_check, rule_view
from records.audit.services.audit import Actor, actor_fields, audit_log, snapshot


def _rule_for_update(code_or_id) -> ComplianceRule:
    """The rule by its code (text) or id (an int), locked. Call inside an atomic block."""
    rows = ComplianceRule.objects.select_for_update()
    if isinstance(code_or_id, int) and not isinstance(code_or_id, bool):
        rule = rows.filter(pk=code_or_id).first()
    elif isinstance(code_or_id, str) and "\x00" not in code_or_id:
        rule = rows.filter(code=code_or_id).first()
    else:
        rule = None
    if rule is None:
        raise BusinessRuleError(f"Unknown compliance rule {code_or_id!r}.", field="code")
    return rule


@transaction.atomic
def rule_create(*, actor: Actor, reason: str = "", **values) -> ComplianceRule:
    """Add a rule (version 1). values: the fields of validators.FIELDS; BusinessRuleError on a rule it breaks."""
    checked = rule_create_check(values)
    try:
        with transaction.atomic():
            rule = ComplianceRule.objects.create(version=1, **checked)
    except IntegrityError:  # lost a race on the code
        raise BusinessRuleError(f"A rule with code {checked['code']} already exists.", field="code") from None
    audit_log(actor=actor, action="CREATE", instance=rule, after=snapshot(rule), reason=reason)
    return rule


@transaction.atomic
def rule_update(*, actor: Actor, code_or_id, changes: dict, reason: str = "") -> ComplianceRule:
    """Change a rule: any of validators.CHANGEABLE (never its code or kind).

    The rule as it was goes into RuleVersion, its version goes up by one. BusinessRuleError when the change
    breaks a rule or changes nothing.
    """
    rule = _rule_for_update(code_or_id)
    changed = rule_update_check(rule, changes)
    before = snapshot(rule)
    user, _label = actor_fields(actor)
    kept = RuleVersion.objects.create(rule=rule, version=rule.version, values=rule_view(rule), changed_by=user,
                                      changed_at=timezone.now(), reason=(reason or "")[:500])
    audit_log(actor=actor, action="CREATE", instance=kept, after=snapshot(kept), reason=reason)
    for name, value in changed.items():
        setattr(rule, name, value)
    rule.version += 1
    rule.save(update_fields=[*changed, "version", "updated_at"])
    audit_log(actor=actor, action="UPDATE", instance=rule, before=before, after=snapshot(rule), reason=reason)
    return rule


def rule_deactivate(*, actor: Actor, code_or_id, reason: str = "") -> ComplianceRule:
    """Take a rule out of force (active false): a change like any other; the rule and its alerts stay."""
    return rule_update(actor=actor, code_or_id=code_or_id, changes={"active": False}, reason=reason)
