"""The API of settlements' runs (included by settlements/api_urls.py): settlement runs, started and followed.

API.md "Settlements". Thin: parse, call one service or selector, shape. Operations start runs;
operations, compliance and accounting read.
"""

import django_filters
from django.http import Http404
from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.response import Response

from backoffice.core.api import StrictDateFilter
from backoffice.core.fields import QUANTITY, StrictDateField, StrictDecimalField
from backoffice.core.jobs.api import JobStepOutput
from backoffice.core.jobs.models import JobRun
from backoffice.core.permissions import HasRole
from backoffice.core.roles import ACCOUNTING, COMPLIANCE, OPERATIONS
from records.reference.validators import format_amount
from settlements.models import SettlementRun
from settlements.runs import selectors
from settlements.runs import services as runs

SettlementRole = HasRole(OPERATIONS, read=(OPERATIONS, COMPLIANCE, ACCOUNTING))
DECIMAL_SCHEMA = {"type": "string", "format": "decimal", "pattern": r"^-?\d+(\.\d+)?$"}
KINDS = {selectors.SETTLEMENT_RUN: "RUN", selectors.CONFIRMATIONS: "CONFIRMATIONS"}


@extend_schema_field(DECIMAL_SCHEMA | {"description": "Exact, with at least the currency's minor units."})
class CurrencyAmountField(serializers.Field):
    """An amount in the row's currency: at least its minor units ("1.50" USD, "150" JPY), never rounded."""

    def __init__(self, **kwargs):
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, value):
        return format_amount(getattr(value, self.field_name), value.currency)


class RunCurrencyFiguresOutput(serializers.Serializer):
    currency = serializers.CharField()
    movements = serializers.IntegerField(help_text="Instructions that settled something in this currency.")
    paid = CurrencyAmountField(help_text="Σ cash the accounts paid.")
    received = CurrencyAmountField(help_text="Σ cash the accounts received.")
    delivered = StrictDecimalField(kind=QUANTITY, help_text="Σ quantity delivered (instruments of the currency).")
    received_quantity = StrictDecimalField(kind=QUANTITY, help_text="Σ quantity received.")


class SettlementRunOutput(serializers.Serializer):
    id = serializers.IntegerField()
    settlement_date = serializers.DateField()
    kind = serializers.SerializerMethodField()
    status = serializers.ChoiceField(choices=JobRun.Status.choices, source="job.status",
                                     help_text="The status of the run's job.")
    progress = serializers.FloatField(source="job.progress", help_text="Share of the job's chunks committed, 0 to 1.")
    job = serializers.IntegerField(source="job_id", help_text="The batch job executing the run: /api/v1/jobs/{id}/. "
                                                              "A failed run started again gets a new job.")
    steps = JobStepOutput(many=True, source="job.steps")
    started_by = serializers.CharField(source="job.started_by_label", help_text="Username, beat or a command.")
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(source="job.started_at", allow_null=True)
    finished_at = serializers.DateTimeField(source="job.finished_at", allow_null=True)
    settled = serializers.IntegerField(help_text="Instructions the run settled in full (so far, while it runs).")
    partial = serializers.IntegerField(help_text="Instructions it took that are left partially settled.")
    failed = serializers.IntegerField(help_text="Instructions it took that settled nothing yet.")
    error = serializers.CharField(source="job.error", help_text="Why the run failed; empty otherwise.")

    @extend_schema_field(serializers.ChoiceField(choices=["RUN", "CONFIRMATIONS"], help_text=(
        "RUN: a settlement run of the date. CONFIRMATIONS: the day's instructions the depository confirmed "
        "settled one at a time (status messages).")))
    def get_kind(self, run):
        return KINDS.get(run.job.kind, "RUN")


class SettlementRunDetailOutput(SettlementRunOutput):
    by_currency = serializers.SerializerMethodField()

    @extend_schema_field(RunCurrencyFiguresOutput(many=True))
    def get_by_currency(self, run):
        return RunCurrencyFiguresOutput(selectors.settlement_run_figures(run), many=True).data


class SettlementRunInput(serializers.Serializer):
    settlement_date = StrictDateField(help_text="A settlement day of at least one market.")


class SettlementRunFilter(django_filters.FilterSet):
    settlement_date = StrictDateFilter()
    status = django_filters.ChoiceFilter(field_name="job__status", choices=JobRun.Status.choices)

    class Meta:
        model = SettlementRun
        fields = ["settlement_date", "status"]


class SettlementRunListApi(generics.ListAPIView):
    permission_classes = [SettlementRole]
    serializer_class = SettlementRunOutput
    filterset_class = SettlementRunFilter

    def get_queryset(self):
        return selectors.settlement_run_list()

    @extend_schema(description="Settlement runs, newest first.")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=SettlementRunInput,
        responses={202: OpenApiResponse(SettlementRunOutput, description=(
            "The run, queued to a worker. The date's last run failed: that run is continued by a new job, so the "
            "answer names it again. A date with nothing due gives a completed run with zero counts.")),
            409: OpenApiResponse(description="A run of this date is queued or running.")},
        description="Start the settlement of a date: every open instruction (pending, partial or failed) due on or "
                    "before it, delivery versus payment; follow it at /api/v1/settlements/runs/{id}/.")
    def post(self, request):
        data = SettlementRunInput(data=request.data)
        data.is_valid(raise_exception=True)
        run = runs.settlement_run_start(settlement_date=data.validated_data["settlement_date"],
                                        started_by=request.user)
        return Response(SettlementRunOutput(selectors.settlement_run_get(run.pk)).data,
                        status=status.HTTP_202_ACCEPTED)


class SettlementRunDetailApi(generics.GenericAPIView):
    permission_classes = [SettlementRole]
    serializer_class = SettlementRunDetailOutput

    @extend_schema(description="One settlement run: status, progress, counts (settled, partial, failed), what it "
                               "moved per currency and the error of a failed run.")
    def get(self, request, run_id: int):
        run = selectors.settlement_run_get(run_id)
        if run is None:
            raise Http404
        return Response(SettlementRunDetailOutput(run).data)


urlpatterns = [
    path("settlements/runs/", SettlementRunListApi.as_view(), name="api-settlement-runs"),
    path("settlements/runs/<int:run_id>/", SettlementRunDetailApi.as_view(), name="api-settlement-run"),
]
