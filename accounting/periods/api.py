"""API of accounting/periods: accounting periods (calendar months), closing and reopening them.

GET /periods/ lists the months ever closed (a month without a row is open); GET /periods/{YYYY-MM}/
any month. Closing takes effect at once (200); reopening is proposed under maker-checker
("period.reopen") and answers 202 with the proposal. Accounting writes; accounting, operations and
compliance read. Thin: parse, call one service or selector, shape.
"""

import django_filters
from django.urls import re_path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from accounting.models import Period
from accounting.periods import selectors, services
from accounting.periods.kinds import PERIOD_REOPEN
from backoffice.core.permissions import HasRole
from backoffice.core.roles import ACCOUNTING, COMPLIANCE, OPERATIONS
from records.approvals import services as approvals
from records.approvals.api import ChangeRequestOutput

PeriodRole = HasRole(ACCOUNTING, read=(ACCOUNTING, OPERATIONS, COMPLIANCE))


class PeriodOutput(serializers.Serializer):
    month = serializers.SerializerMethodField(help_text="YYYY-MM")
    start = serializers.DateField()
    end = serializers.DateField()
    status = serializers.ChoiceField(choices=Period.Status.choices,
                                     help_text="CLOSED: takes no postings; OPEN otherwise.")
    closed_at = serializers.DateTimeField(allow_null=True)
    closed_by = serializers.CharField(source="closed_by.get_username", allow_null=True, default=None)

    def get_month(self, period) -> str:
        return f"{period.start:%Y-%m}"


class ReasonInput(serializers.Serializer):
    reason = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="",
                                   help_text="Why: kept in the audit trail (shown to the approver of a reopening).")


def _reason(data) -> str:
    if data is None or data == {}:
        return ""
    if not isinstance(data, dict):
        raise ValidationError({"non_field_errors": ["Expected a JSON object."]})
    unknown = sorted(set(data) - {"reason"})
    if unknown:
        raise ValidationError({unknown[0]: ["Unknown field; expected reason."]})
    body = ReasonInput(data=data)
    body.is_valid(raise_exception=True)
    return body.validated_data["reason"].strip()


class PeriodFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Period.Status.choices)

    class Meta:
        model = Period
        fields = ["status"]


class PeriodListApi(generics.ListAPIView):
    permission_classes = [PeriodRole]
    serializer_class = PeriodOutput
    filterset_class = PeriodFilter

    def get_queryset(self):
        return selectors.period_list()

    @extend_schema(description="The months that were ever closed, newest first (a month not listed is open).")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class PeriodDetailApi(generics.GenericAPIView):
    permission_classes = [PeriodRole]
    serializer_class = PeriodOutput

    @extend_schema(description="One month: CLOSED or OPEN.")
    def get(self, request, month: str):
        return Response(PeriodOutput(selectors.period_get(selectors.parse_month(month))).data)


class PeriodCloseApi(generics.GenericAPIView):
    permission_classes = [PeriodRole]
    serializer_class = PeriodOutput

    @extend_schema(request=ReasonInput, responses={
        200: PeriodOutput,
        400: OpenApiResponse(description="Not a month (YYYY-MM), or a month that has not begun."),
        409: OpenApiResponse(description="The month is already closed.")},
        description="Close a month at once (audited): from then on it takes no postings; the posting engine dates "
                    "what happened in it on the first open day after, and manual entries dated in it are refused.")
    def post(self, request, month: str):
        reason = _reason(request.data)
        period = services.period_close(actor=request.user, month=selectors.parse_month(month), reason=reason)
        return Response(PeriodOutput(period).data, status=status.HTTP_200_OK)


class PeriodReopenApi(generics.GenericAPIView):
    permission_classes = [PeriodRole]
    serializer_class = ChangeRequestOutput

    @extend_schema(request=ReasonInput, responses={
        202: OpenApiResponse(ChangeRequestOutput, description="Proposed: the month reopens when a different "
                                                              "accounting user approves it."),
        400: OpenApiResponse(description="Not a month (YYYY-MM)."),
        409: OpenApiResponse(description="The month is open, or its reopening is already awaiting approval.")},
        description="Propose reopening a closed month (maker-checker, kind period.reopen).")
    def post(self, request, month: str):
        reason = _reason(request.data)
        start = selectors.parse_month(month)
        change = approvals.change_propose(actor=request.user, kind=PERIOD_REOPEN, payload={"month": f"{start:%Y-%m}"},
                                          reason=reason or "proposed through the API")
        return Response(ChangeRequestOutput(change).data, status=status.HTTP_202_ACCEPTED)


_MONTH = r"(?P<month>\d{4}-\d{2})"

urlpatterns = [
    re_path(r"^periods/$", PeriodListApi.as_view(), name="api-periods"),
    re_path(rf"^periods/{_MONTH}/$", PeriodDetailApi.as_view(), name="api-period"),
    re_path(rf"^periods/{_MONTH}/close/$", PeriodCloseApi.as_view(), name="api-period-close"),
    re_path(rf"^periods/{_MONTH}/reopen/$", PeriodReopenApi.as_view(), name="api-period-reopen"),
]
