"""The API of the compliance rules (included by compliance/api_urls.py): API.md "Compliance".

GET and POST /api/v1/compliance/rules/, GET and PATCH .../{id}/. A new rule (POST) or a change (PATCH,
deactivating included: {"active": false}) is proposed under maker-checker ("compliance.rule.change") and
answers 202 with the proposal, as the GL accounts do; it takes effect when another compliance user approves
it. Compliance writes; compliance, operations and accounting read; front office is refused (surveillance
thresholds are not for traders to see; a pre-trade refusal already names the limit it broke). Thin: parse,
call one service or selector, shape.
"""

import django_filters
from django.http import Http404
from django.urls import path
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from backoffice.core.fields import InputError, StrictDecimalField, parse_text
from backoffice.core.permissions import HasRole
from backoffice.core.roles import ACCOUNTING, COMPLIANCE, OPERATIONS
from compliance.rules import selectors
from compliance.rules.kinds import RULE_CHANGE
from compliance.rules.models import ComplianceRule, RuleAction, RuleKind, RuleScope, Severity
from compliance.rules.validators import CHANGEABLE, FIELDS, STAGES, kind_spec, stage_of
from records.approvals import services as approvals
from records.approvals.api import ChangeRequestOutput

RulesRole = HasRole(COMPLIANCE, read=(COMPLIANCE, OPERATIONS, ACCOUNTING))
PROPOSED_THROUGH_API = "proposed through the API"


class RuleVersionOutput(serializers.Serializer):
    version = serializers.IntegerField()
    values = serializers.JSONField(help_text="Every field of the rule in that version.")
    changed_by = serializers.CharField(source="changed_by.username", allow_null=True, default=None,
                                       help_text="Who approved the change that replaced this version.")
    changed_at = serializers.DateTimeField(help_text="When it was replaced.")
    reason = serializers.CharField(help_text="Why (the change request and its reason).")


class RuleOutput(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=RuleKind.choices, help_text="docs/compliance.md lists the kinds.")
    stage = serializers.SerializerMethodField(help_text="PRETRADE (checked before a trade books) or SURVEILLANCE "
                                                        "(the post-trade job).")
    scope = serializers.ChoiceField(choices=RuleScope.choices)
    scope_value = serializers.CharField(help_text="The account code, ISIN or asset class; empty for ALL.")
    threshold = StrictDecimalField(allow_null=True, help_text="The limit; its unit is threshold_unit.")
    threshold_unit = serializers.SerializerMethodField()
    params = serializers.JSONField(help_text="The kind's other parameters.")
    action = serializers.ChoiceField(choices=RuleAction.choices)
    severity = serializers.ChoiceField(choices=Severity.choices)
    active = serializers.BooleanField()
    in_force = serializers.SerializerMethodField(help_text="Active and today within its effective dates.")
    effective_from = serializers.DateField(allow_null=True, help_text="First trade date in force; null: always.")
    effective_to = serializers.DateField(allow_null=True, help_text="Last trade date in force; null: open-ended.")
    version = serializers.IntegerField(help_text="Goes up by one with every approved change.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_stage(self, rule) -> str:
        return stage_of(rule.kind)

    def get_threshold_unit(self, rule) -> str:
        return kind_spec(rule.kind).unit

    def get_in_force(self, rule) -> bool:
        return rule.in_force(timezone.localdate())


class RuleDetailOutput(RuleOutput):
    versions = RuleVersionOutput(many=True, help_text="Its earlier versions, newest first.")
    pending_change = serializers.IntegerField(allow_null=True, help_text="The id of a change to it awaiting "
                                                                        "approval, or null.")


class RuleInput(serializers.Serializer):
    code = serializers.JSONField(help_text="Letters, digits, '-' or '_', up to 50; never changes.")
    name = serializers.JSONField(required=False)
    kind = serializers.JSONField(help_text="One of the documented kinds; never changes.")
    scope = serializers.JSONField(required=False, help_text="ALL (default), ACCOUNT, INSTRUMENT or ASSET_CLASS.")
    scope_value = serializers.JSONField(required=False, help_text="Account code, ISIN or asset class; empty "
                                                                  "for ALL.")
    threshold = serializers.JSONField(required=False, help_text="A decimal string; required or forbidden by kind.")
    params = serializers.JSONField(required=False, help_text="The kind's parameters; defaults fill the others.")
    action = serializers.JSONField(help_text="REJECT, HOLD or ALERT (surveillance kinds: ALERT).")
    severity = serializers.JSONField(required=False, help_text="LOW, MEDIUM (default), HIGH or CRITICAL.")
    active = serializers.JSONField(required=False, help_text="Default true.")
    effective_from = serializers.JSONField(required=False, help_text="YYYY-MM-DD or null.")
    effective_to = serializers.JSONField(required=False, help_text="YYYY-MM-DD or null.")
    reason = serializers.CharField(max_length=1000, required=False, help_text="Why: shown to the approver.")


class RuleChangeInput(serializers.Serializer):
    name = serializers.JSONField(required=False)
    scope = serializers.JSONField(required=False)
    scope_value = serializers.JSONField(required=False)
    threshold = serializers.JSONField(required=False)
    params = serializers.JSONField(required=False, help_text="Replaces the parameters as a whole.")
    action = serializers.JSONField(required=False)
    severity = serializers.JSONField(required=False)
    active = serializers.JSONField(required=False, help_text="false deactivates the rule (never deleted).")
    effective_from = serializers.JSONField(required=False)
    effective_to = serializers.JSONField(required=False)
    reason = serializers.CharField(max_length=1000, required=False, help_text="Why: shown to the approver.")


def _body(data, allowed: tuple[str, ...]) -> tuple[dict, str]:
    """The body's fields (only the allowed ones, else a 400 naming the first other one) and its reason."""
    if not isinstance(data, dict):
        raise ValidationError({"non_field_errors": ["Expected a JSON object."]})
    unknown = sorted(str(name) for name in data if name not in (*allowed, "reason"))
    if unknown:
        raise ValidationError({unknown[0]: [f"Unknown field; expected one of {', '.join(allowed)}, reason."]})
    try:
        reason = parse_text(data.get("reason", ""), max_length=1000, allow_blank=True)
    except InputError as exc:
        raise ValidationError({"reason": [exc.message]}) from None
    return {name: value for name, value in data.items() if name != "reason"}, reason


def _proposed(what: str) -> dict:
    return {
        202: OpenApiResponse(ChangeRequestOutput, description=(
            f"The {what} is proposed, not made: it takes effect when a different compliance user approves it "
            "(POST /api/v1/approvals/{id}/approve/).")),
        400: OpenApiResponse(description="A field is invalid: a code taken or malformed, an unknown kind, a "
                                         "threshold the kind needs or has none of, out of range, an unknown or "
                                         "mistyped parameter, an action the kind does not take, a scope value "
                                         "naming nothing, effective_to before effective_from; or the change "
                                         "changes nothing."),
        409: OpenApiResponse(description="A proposal for the same rule is already awaiting approval."),
    }


def _propose(request, payload: dict, reason: str) -> Response:
    change = approvals.change_propose(actor=request.user, kind=RULE_CHANGE, payload=payload,
                                      reason=reason or PROPOSED_THROUGH_API)
    return Response(ChangeRequestOutput(change).data, status=status.HTTP_202_ACCEPTED)


class RuleFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=RuleKind.choices)
    stage = django_filters.ChoiceFilter(choices=list(STAGES.items()), method="_stage",
                                        help_text="PRETRADE or SURVEILLANCE.")
    scope = django_filters.ChoiceFilter(choices=RuleScope.choices)
    action = django_filters.ChoiceFilter(choices=RuleAction.choices)
    severity = django_filters.ChoiceFilter(choices=Severity.choices)
    active = django_filters.BooleanFilter()

    class Meta:
        model = ComplianceRule
        fields = ["kind", "stage", "scope", "action", "severity", "active"]

    def _stage(self, queryset, name, value):
        return queryset.filter(kind__in=selectors.kinds_of_stage(value))


def _rule_or_404(rule_id) -> ComplianceRule:
    rule = selectors.rule_get(rule_id)
    if rule is None:
        raise Http404
    return rule


class RuleListApi(generics.ListAPIView):
    permission_classes = [RulesRole]
    serializer_class = RuleOutput
    filterset_class = RuleFilter

    def get_queryset(self):
        return selectors.rule_list().order_by("kind", "code")

    @extend_schema(description="The compliance rules by kind and code, inactive ones included (?active=true for "
                               "the active ones).")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(request=RuleInput, responses=_proposed("new rule"),
                   description="Propose a new rule (maker-checker, kind compliance.rule.change).")
    def post(self, request):
        payload, reason = _body(request.data, FIELDS)
        return _propose(request, payload, reason)


class RuleDetailApi(generics.GenericAPIView):
    permission_classes = [RulesRole]
    serializer_class = RuleDetailOutput

    @extend_schema(description="One rule, with its earlier versions (newest first) and the change to it awaiting "
                               "approval, if any.")
    def get(self, request, rule_id: int):
        rule = selectors.rule_get_with_versions(rule_id)
        if rule is None:
            raise Http404
        rule.pending_change = selectors.rule_pending_change_id(rule)
        return Response(RuleDetailOutput(rule).data)

    @extend_schema(request=RuleChangeInput, responses=_proposed("change"),
                   description="Propose a change to a rule (maker-checker): any field but its code and kind; "
                               "{\"active\": false} deactivates it. Approved, it becomes the next version.")
    def patch(self, request, rule_id: int):
        rule = _rule_or_404(rule_id)
        # code and kind pass through to the rules, whose 400 says they never change.
        changes, reason = _body(request.data, (*CHANGEABLE, "code", "kind"))
        return _propose(request, {"code": rule.code, "changes": changes}, reason)


urlpatterns = [
    path("compliance/rules/", RuleListApi.as_view(), name="api-compliance-rules"),
    path("compliance/rules/<int:rule_id>/", RuleDetailApi.as_view(), name="api-compliance-rule"),
]
