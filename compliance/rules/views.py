"""The rule editor (included by compliance/urls.py): /compliance/rules/ and one rule's page /compliance/rules/{id}/.

The rules by stage (pre-trade, surveillance) with their scope, threshold and unit, action, severity and whether
they are in force; a form proposing a new rule or a change to one under maker-checker ("compliance.rule.change"),
the proposals awaiting approval, and the documented kinds. A rule's page shows it with its version history.
Compliance, operations and accounting read; compliance proposes. Thin: parse, call one service or selector,
shape; a refusal shows on the form, never as a 500.
"""

import json

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_POST

from backoffice.core import roles
from backoffice.core.exceptions import BusinessRuleError, ConflictError
from backoffice.core.fields import format_decimal
from backoffice.core.forms import DateInput, form_filters, with_all
from compliance.rules import selectors
from compliance.rules.kinds import RULE_CHANGE, shown
from compliance.rules.models import ComplianceRule, RuleAction, RuleKind, RuleScope, Severity
from compliance.rules.validators import (
    CHANGEABLE,
    KINDS,
    NONE,
    PERCENT,
    REASON_MAX_LENGTH,
    STAGES,
    rule_view,
    stage_of,
)
from records.approvals import kinds as approval_kinds
from records.approvals import services as approvals
from records.audit.diff import DiffRow

READERS = (roles.COMPLIANCE, roles.OPERATIONS, roles.ACCOUNTING)


def kind_hints() -> dict:
    """What the form shows for each kind: its stage, threshold unit, actions and parameters with defaults."""
    return {kind: {"stage": STAGES[spec.stage], "unit": spec.unit, "threshold": spec.threshold != NONE,
                   "actions": list(spec.actions), "scopes": list(spec.scopes), "checks": spec.checks,
                   "params": {p.name: p.default for p in spec.params},
                   "params_help": {p.name: p.help for p in spec.params}}
            for kind, spec in KINDS.items()}


class RuleFilterForm(forms.Form):
    stage = forms.ChoiceField(required=False, label="Stage", choices=with_all(list(STAGES.items())))
    kind = forms.ChoiceField(required=False, label="Kind", choices=with_all(RuleKind.choices))
    scope = forms.ChoiceField(required=False, label="Scope", choices=with_all(RuleScope.choices))
    action = forms.ChoiceField(required=False, label="Action", choices=with_all(RuleAction.choices))
    severity = forms.ChoiceField(required=False, label="Severity", choices=with_all(Severity.choices))
    state = forms.ChoiceField(required=False, label="Show", choices=[
        ("", "All rules"), ("IN_FORCE", "In force today"), ("ACTIVE", "Active"), ("INACTIVE", "Inactive")])
    search = forms.CharField(required=False, max_length=50, label="Code or name", widget=forms.TextInput(
        attrs={"class": "medium", "placeholder": "e.g. notional"}))


class RuleProposalForm(forms.Form):
    """A new rule (creating) or a change to one (its code in `changing`): read by the kind's rules."""

    changing = forms.CharField(required=False, widget=forms.HiddenInput)
    code = forms.CharField(max_length=50, label="Code", widget=forms.TextInput(
        attrs={"class": "medium", "placeholder": "e.g. msft-position"}))
    name = forms.CharField(max_length=200, required=False, label="Name", widget=forms.TextInput(
        attrs={"class": "wide", "placeholder": "what it is for, in a few words"}))
    kind = forms.ChoiceField(choices=RuleKind.choices, label="Kind")
    scope = forms.ChoiceField(choices=RuleScope.choices, label="Scope", initial=RuleScope.ALL)
    scope_value = forms.CharField(max_length=30, required=False, label="Account, ISIN or asset class",
                                  widget=forms.TextInput(attrs={"class": "medium", "placeholder": "empty for all"}))
    threshold = forms.CharField(max_length=40, required=False, label="Threshold", widget=forms.TextInput(
        attrs={"class": "short num", "inputmode": "decimal"}))
    action = forms.ChoiceField(choices=RuleAction.choices, label="Action")
    severity = forms.ChoiceField(choices=Severity.choices, label="Severity", initial=Severity.MEDIUM)
    effective_from = forms.DateField(required=False, label="In force from", widget=DateInput)
    effective_to = forms.DateField(required=False, label="In force to", widget=DateInput)
    active = forms.BooleanField(required=False, initial=True, label="Active")
    params = forms.CharField(required=False, label="Parameters (JSON)", widget=forms.Textarea(
        attrs={"rows": 4, "class": "wide mono", "spellcheck": "false"}))
    reason = forms.CharField(max_length=REASON_MAX_LENGTH, label="Reason", widget=forms.TextInput(
        attrs={"class": "wide", "placeholder": "why: shown to the approver and kept with the version"}))

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "rule-%s")  # the filter bar on the same page has kind, scope, action...
        super().__init__(*args, **kwargs)

    @classmethod
    def for_change(cls, rule: ComplianceRule):
        view = rule_view(rule)
        return cls(initial={**view, "threshold": view["threshold"] or "", "params": json.dumps(view["params"]),
                            "changing": rule.code})

    def clean_params(self):
        text = self.cleaned_data["params"].strip()
        if not text:
            return {}
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise forms.ValidationError(f"Not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).") from None
        if not isinstance(value, dict):
            raise forms.ValidationError('A JSON object, e.g. {"window_days": 5}.')
        return value

    def payload(self) -> dict:
        data = self.cleaned_data
        values = {"name": data["name"], "scope": data["scope"], "scope_value": data["scope_value"],
                  "threshold": data["threshold"].strip() or None, "params": data["params"],
                  "action": data["action"], "severity": data["severity"], "active": data["active"],
                  "effective_from": data["effective_from"].isoformat() if data["effective_from"] else None,
                  "effective_to": data["effective_to"].isoformat() if data["effective_to"] else None}
        if data.get("changing"):
            rule = selectors.rule_list().filter(code=data["changing"]).first()
            if rule is None:
                raise BusinessRuleError("That rule no longer exists.")
            current = rule_view(rule)
            changes = {name: values[name] for name in CHANGEABLE if values[name] != current[name]}
            if "params" in changes and changes["params"] == {} and not current["params"]:
                changes.pop("params")
            return {"code": rule.code, "changes": changes}
        return {"code": data["code"], "kind": data["kind"], **values}


def _decorate(rules, today) -> list:
    """Each rule with its stage, state today and the figures the table shows."""
    pending = {change.target_id: change.pk for change in selectors.rule_pending_changes()}
    rows = []
    for rule in rules:
        rule.stage = stage_of(rule.kind)
        rule.unit = KINDS[rule.kind].unit
        if rule.kind == RuleKind.STRUCTURING:
            rule.unit = f"{(rule.params or {}).get('currency', 'USD')}: the reporting threshold"
        rule.short_unit = (KINDS[rule.kind].short_unit if rule.kind != RuleKind.STRUCTURING
                           else (rule.params or {}).get("currency", "USD"))
        rule.threshold_shown = threshold_shown(rule)
        rule.state = rule_state(rule, today)
        rule.pending_change = pending.get(rule.code)
        rule.params_shown = ", ".join(f"{name.replace('_', ' ')} {shown(name, value)}"
                                      for name, value in ordered_params(rule))
        rows.append(rule)
    return rows


def ordered_params(rule: ComplianceRule) -> list[tuple[str, object]]:
    """The rule's parameters in the order its kind documents them (the database keeps JSON keys sorted)."""
    params = dict(rule.params or {})
    order = [p.name for p in KINDS[rule.kind].params]
    return [(name, params[name]) for name in order if name in params] + sorted(
        (name, value) for name, value in params.items() if name not in order)


def threshold_shown(rule: ComplianceRule) -> str:
    """The threshold as a clerk reads it: 250,000,000 or 10%; empty where the kind has none."""
    if rule.threshold is None:
        return ""
    text = format_decimal(rule.threshold)
    whole, _, decimals = text.partition(".")
    grouped = f"{int(whole):,}" + (f".{decimals}" if decimals else "")
    return f"{grouped}%" if KINDS[rule.kind].threshold == PERCENT else grouped


def rule_state(rule: ComplianceRule, today) -> str:
    if not rule.active:
        return "INACTIVE"
    if rule.effective_from and rule.effective_from > today:
        return "UPCOMING"
    if rule.effective_to and rule.effective_to < today:
        return "EXPIRED"
    return "IN_FORCE"


def _rules_page(request, *, proposal_form=None, status=200):
    roles.require_role(request, READERS)
    today = timezone.localdate()
    may_propose = approval_kinds.may_propose(request.user, RULE_CHANGE)
    changing = None
    if proposal_form is None and may_propose:
        code = request.GET.get("change", "")
        changing = selectors.rule_list().filter(code=code).first() if code and code.isprintable() else None
        proposal_form = RuleProposalForm.for_change(changing) if changing else RuleProposalForm()
    elif proposal_form is not None and proposal_form.data.get("changing"):
        changing = selectors.rule_list().filter(code=proposal_form.data["changing"]).first()
    form = RuleFilterForm(request.GET)
    filters = form_filters(form)
    rules = _decorate(selectors.rule_search(**filters, today=today), today)
    groups = [(stage, label, [rule for rule in rules if rule.stage == stage]) for stage, label in STAGES.items()]
    everything = selectors.rule_search(today=today)
    return render(request, "compliance/rules.html", {
        "form": form, "groups": [group for group in groups if group[2]], "shown": len(rules),
        "total": everything.count(), "in_force": selectors.rule_search(state="IN_FORCE", today=today).count(),
        "filtered": any(value.strip() for name, value in request.GET.items() if name not in ("page", "change")),
        "may_propose": may_propose, "proposal_form": proposal_form, "changing": changing,
        "open_form": bool(changing) or status != 200, "pending": list(selectors.rule_pending_changes()[:50]),
        "kinds": [(KINDS[kind], label) for kind, label in RuleKind.choices], "kind_hints": kind_hints(),
        "today": today,
    }, status=status)


@login_required
def rules(request):
    return _rules_page(request)


@login_required
@require_POST
def rule_propose(request):
    roles.require_role(request, READERS)
    if not approval_kinds.may_propose(request.user, RULE_CHANGE):
        raise PermissionDenied("Your role does not allow proposing changes to the compliance rules.")
    form = RuleProposalForm(request.POST)
    if form.data.get("changing"):  # code and kind stay what they are
        rule = selectors.rule_list().filter(code=form.data["changing"]).first() \
            if form.data["changing"].isprintable() else None
        data = form.data.copy()
        if rule is not None:
            data.update({"code": rule.code, "kind": rule.kind})
        form = RuleProposalForm(data)
    if form.is_valid():
        try:
            change = approvals.change_propose(actor=request.user, kind=RULE_CHANGE, payload=form.payload(),
                                              reason=form.cleaned_data["reason"])
        except BusinessRuleError as exc:
            if isinstance(exc, ConflictError) or exc.field not in form.fields:
                form.add_error(None, exc.message)
            else:
                form.add_error(exc.field, exc.message)
        else:
            messages.success(request, f"Proposed as change #{change.pk}: {change.summary}. It takes effect when "
                                      "another compliance user approves it.")
            return redirect("compliance:rules")
    return _rules_page(request, proposal_form=form, status=400)


def values_diff(before: dict, after: dict) -> list[DiffRow]:
    """What a change changed: field by field, and the parameters one by one (params.window_days 5 → 7)."""
    rows = []
    for name in CHANGEABLE:
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        if name == "params" and isinstance(old, dict) and isinstance(new, dict):
            rows.extend(DiffRow(f"params.{key}", shown(key, old.get(key)) if key in old else None,
                                shown(key, new.get(key)) if key in new else None)
                        for key in sorted(set(old) | set(new)) if old.get(key) != new.get(key))
        else:
            rows.append(DiffRow(name, old, new))
    return rows


def version_history(rule: ComplianceRule) -> list[dict]:
    """The rule's versions, newest first: each with who made it, when, why and what it changed."""
    versions = list(rule.versions.all())  # newest first (prefetched)
    creation = selectors.rule_creation(rule)
    current = {"version": rule.version, "values": rule_view(rule)}
    states = [current, *({"version": v.version, "values": v.values} for v in versions)]
    history = []
    for index, state in enumerate(states):
        older = states[index + 1] if index + 1 < len(states) else None
        # Version N was made by the change recorded on version N-1 (who replaced it, when, why).
        made_by = versions[index] if index < len(versions) else None
        diff = [] if older is None else values_diff(older["values"], state["values"])
        history.append({"version": state["version"], "values": state["values"], "current": index == 0,
                        "by": made_by.changed_by.username if made_by and made_by.changed_by else (
                            creation.actor_label if older is None and creation else None),
                        "at": made_by.changed_at if made_by else (rule.created_at if older is None else None),
                        "reason": made_by.reason if made_by else (creation.reason if older is None and creation
                                                                  else ""),
                        "diff": diff, "created": older is None})
    return history


@login_required
def rule_detail(request, rule_id: int):
    roles.require_role(request, READERS)
    rule = selectors.rule_get_with_versions(rule_id)
    if rule is None:
        raise Http404("No such rule.")
    today = timezone.localdate()
    _decorate([rule], today)
    pending = [change for change in selectors.rule_pending_changes() if change.target_id == rule.code]
    help_of = {p.name: p.help for p in KINDS[rule.kind].params}
    return render(request, "compliance/rule_detail.html", {
        "rule": rule, "spec": KINDS[rule.kind], "history": version_history(rule), "pending": pending,
        "may_propose": approval_kinds.may_propose(request.user, RULE_CHANGE), "today": today,
        "params_rows": [(name, shown(name, value), help_of.get(name, ""))
                        for name, value in ordered_params(rule)],
    })


urlpatterns = [
    path("rules/", rules, name="rules"),
    path("rules/propose/", rule_propose, name="rule-propose"),
    path("rules/<int:rule_id>/", rule_detail, name="rule"),
]
