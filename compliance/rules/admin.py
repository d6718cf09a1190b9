"""Admin of the compliance rules (loaded by compliance/admin.py).

Rules are under maker-checker: saving a new one or a change proposes it as a "compliance.rule.change"
(compliance/rules/kinds.py), which takes effect when another compliance user approves it; a rule the proposal
would break (a threshold its kind has none of, an unknown parameter, a scope naming nothing) shows on the form.
A rule is never deleted (alerts reference it): deactivate it. Its earlier versions show read-only below it.
"""

import json

from django import forms
from django.contrib import admin

from backoffice.core.admin import ReadOnlyInline, ServiceModelForm
from compliance.rules.kinds import RULE_CHANGE
from compliance.rules.models import ComplianceRule, RuleVersion
from compliance.rules.validators import CHANGEABLE, rule_view
from records.approvals import services as approvals
from records.approvals.admin import ProposingAdmin

PROPOSED_IN_ADMIN = "proposed in the admin"


class RuleVersionInline(ReadOnlyInline):
    model = RuleVersion
    fields = ("version", "changed_at", "changed_by", "reason", "values")
    readonly_fields = fields
    ordering = ("-version",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("changed_by")


class ComplianceRuleForm(ServiceModelForm):
    """The model form with the threshold and parameters as text, so the kind's rules (not the model field's)
    say what is wrong with them."""

    threshold = forms.CharField(required=False, max_length=40, help_text="Its unit depends on the kind "
                                                                         "(docs/compliance.md, \"Rules\").")

    class Meta:
        model = ComplianceRule
        fields = "__all__"

    def clean_threshold(self):
        return self.cleaned_data["threshold"].strip() or None


@admin.register(ComplianceRule)
class ComplianceRuleAdmin(ProposingAdmin):
    """Adding or changing a rule proposes it (maker-checker); the rule changes when another compliance user
    approves it."""

    form = ComplianceRuleForm
    change_kind = RULE_CHANGE
    approvers = "another compliance user"

    list_display = ("code", "name", "kind", "scope", "scope_value", "threshold", "action", "severity", "active",
                    "effective_from", "effective_to", "version")
    list_filter = ("kind", "action", "severity", "active", "scope")
    search_fields = ("code", "name", "=scope_value")
    ordering = ("kind", "code")
    key_fields = ("code", "kind")
    readonly_always = ("version", "created_at", "updated_at")
    inlines = [RuleVersionInline]

    def service_save(self, *, actor, form):
        data = form.cleaned_data
        values = {"name": data.get("name") or "", "scope": data.get("scope"),
                  "scope_value": data.get("scope_value") or "", "threshold": data.get("threshold"),
                  "params": data.get("params") if data.get("params") is not None else {},
                  "action": data.get("action"), "severity": data.get("severity"), "active": data.get("active"),
                  "effective_from": data["effective_from"].isoformat() if data.get("effective_from") else None,
                  "effective_to": data["effective_to"].isoformat() if data.get("effective_to") else None}
        if form.instance._state.adding:
            payload = {"code": data.get("code"), "kind": data.get("kind"), **values}
        else:
            current = rule_view(ComplianceRule.objects.get(pk=form.instance.pk))
            payload = {"code": current["code"], "changes": {
                name: values[name] for name in CHANGEABLE
                if name in form.changed_data and _differs(values[name], current[name])}}
        return approvals.change_propose(actor=actor, kind=RULE_CHANGE, payload=payload,
                                        reason=data.get("reason") or PROPOSED_IN_ADMIN)

    def pending_target(self, object_id) -> str | None:
        rule = ComplianceRule.objects.filter(pk=object_id).first() if str(object_id).isdigit() else None
        return rule.code if rule is not None else None


def _differs(new, old) -> bool:
    if isinstance(new, dict) or isinstance(old, dict):
        return json.dumps(new, sort_keys=True) != json.dumps(old, sort_keys=True)
    return new != old
