"""API of accounting/chart: the chart of accounts (/api/v1/accounting/gl-accounts/).

List and detail; a new account (POST) or a change (PATCH) is proposed under maker-checker
("glaccount.change") and answers 202 with the proposal. Accounting writes; accounting, operations
and compliance read. Thin: parse, call one service or selector, shape.
"""

import django_filters
from django.db.models import Q
from django.http import Http404
from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from accounting.chart import selectors
from accounting.chart.kinds import GLACCOUNT_CHANGE
from accounting.chart.validators import CHANGEABLE, CREATE_FIELDS
from accounting.models import GLAccount
from backoffice.core.fields import StrictDecimalField
from backoffice.core.permissions import HasRole
from backoffice.core.roles import ACCOUNTING, COMPLIANCE, OPERATIONS
from records.approvals import services as approvals
from records.approvals.api import ChangeRequestOutput

ChartRole = HasRole(ACCOUNTING, read=(ACCOUNTING, OPERATIONS, COMPLIANCE))
PROPOSED_THROUGH_API = "proposed through the API"


class GLAccountOutput(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    type = serializers.ChoiceField(choices=GLAccount.Type.choices)
    parent = serializers.CharField(source="parent.code", allow_null=True, default=None,
                                   help_text="Code of the parent account (a heading), or null.")
    role = serializers.CharField(allow_null=True, help_text="What the posting rules call it (e.g. CASH); null: "
                                                            "a heading or an account for manual entries.")
    is_monetary = serializers.BooleanField(help_text="Revalued at closing FX rates.")
    is_active = serializers.BooleanField(help_text="Inactive accounts take no manual entries.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class GLAccountDetailOutput(GLAccountOutput):
    lines = serializers.IntegerField(source="line_count", help_text="Journal lines posted to it.")
    balance = StrictDecimalField(help_text="Base-currency balance of its own lines, debit positive.")


class GLAccountInput(serializers.Serializer):
    code = serializers.JSONField(help_text="Letters, digits, '.', '_' or '-', up to 20 characters.")
    name = serializers.JSONField()
    type = serializers.JSONField(help_text="ASSET, LIABILITY, EQUITY, REVENUE or EXPENSE.")
    parent = serializers.JSONField(required=False, help_text="Code of an account of the same type, or null.")
    role = serializers.JSONField(required=False, help_text="A role the posting rules use and no account holds.")
    is_monetary = serializers.JSONField(required=False, help_text="Default true.")
    is_active = serializers.JSONField(required=False, help_text="Default true.")
    reason = serializers.CharField(max_length=1000, required=False, help_text="Why: shown to the approver.")


class GLAccountChangeInput(serializers.Serializer):
    name = serializers.JSONField(required=False)
    parent = serializers.JSONField(required=False)
    role = serializers.JSONField(required=False, help_text="Only while the account has no journal lines.")
    is_monetary = serializers.JSONField(required=False)
    is_active = serializers.JSONField(required=False)
    reason = serializers.CharField(max_length=1000, required=False, help_text="Why: shown to the approver.")


def _body(data, allowed: tuple[str, ...]) -> tuple[dict, str]:
    """The body's fields (only the allowed ones, else a 400 naming the first other one) and its reason."""
    if not isinstance(data, dict):
        raise ValidationError({"non_field_errors": ["Expected a JSON object."]})
    unknown = sorted(set(data) - {*allowed, "reason"})
    if unknown:
        raise ValidationError({unknown[0]: [f"Unknown field; expected one of {', '.join(allowed)}, reason."]})
    reason = data.get("reason", "")
    if not isinstance(reason, str) or len(reason) > 1000:
        raise ValidationError({"reason": ["Text of at most 1000 characters."]})
    return {name: value for name, value in data.items() if name != "reason"}, reason.strip()


def _proposed(what: str) -> dict:
    return {
        202: OpenApiResponse(ChangeRequestOutput, description=(
            f"The {what} is proposed, not made: it takes effect when a different accounting user approves it "
            "(POST /api/v1/approvals/{id}/approve/).")),
        400: OpenApiResponse(description="A field is invalid: a code taken, an unknown parent or one of another "
                                         "type, a loop, a role the rules do not use or another account holds, a "
                                         "role change on an account with lines; or the change changes nothing."),
        409: OpenApiResponse(description="A proposal for the same account is already awaiting approval."),
    }


def _propose(request, payload: dict, reason: str) -> Response:
    change = approvals.change_propose(actor=request.user, kind=GLACCOUNT_CHANGE, payload=payload,
                                      reason=reason or PROPOSED_THROUGH_API)
    return Response(ChangeRequestOutput(change).data, status=status.HTTP_202_ACCEPTED)


class GLAccountFilter(django_filters.FilterSet):
    type = django_filters.ChoiceFilter(choices=GLAccount.Type.choices)
    search = django_filters.CharFilter(method="_search", help_text="Part of the code or name.")
    role = django_filters.CharFilter()
    is_active = django_filters.BooleanFilter()

    class Meta:
        model = GLAccount
        fields = ["type", "search", "role", "is_active"]

    def _search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(code__icontains=value) | Q(name__icontains=value)) if value else queryset


class GLAccountListApi(generics.ListAPIView):
    permission_classes = [ChartRole]
    serializer_class = GLAccountOutput
    filterset_class = GLAccountFilter

    def get_queryset(self):
        return selectors.gl_account_list()

    @extend_schema(description="The chart of accounts, by code.")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(request=GLAccountInput, responses=_proposed("new account"),
                   description="Propose a new GL account (maker-checker, kind glaccount.change).")
    def post(self, request):
        payload, reason = _body(request.data, CREATE_FIELDS)
        return _propose(request, payload, reason)


class GLAccountDetailApi(generics.GenericAPIView):
    permission_classes = [ChartRole]
    serializer_class = GLAccountDetailOutput

    def _get(self, code: str) -> GLAccount:
        account = selectors.gl_account_get(code)
        if account is None:
            raise Http404
        return account

    @extend_schema(description="One GL account, with the number of its journal lines and its base balance.")
    def get(self, request, code: str):
        account = self._get(code)
        account.line_count, account.balance = selectors.gl_account_figures([account.pk]).get(account.pk, (0, 0))
        return Response(GLAccountDetailOutput(account).data)

    @extend_schema(request=GLAccountChangeInput, responses=_proposed("change"),
                   description="Propose a change to a GL account (maker-checker): its name, parent, active and "
                               "monetary flags, and its role while it has no journal lines.")
    def patch(self, request, code: str):
        account = self._get(code)
        changes, reason = _body(request.data, CHANGEABLE)
        return _propose(request, {"code": account.code, "changes": changes}, reason)


urlpatterns = [
    path("gl-accounts/", GLAccountListApi.as_view(), name="api-gl-accounts"),
    path("gl-accounts/<str:code>/", GLAccountDetailApi.as_view(), name="api-gl-account"),
]
