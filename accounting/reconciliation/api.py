"""API of accounting/reconciliation (included by accounting/api_urls.py under /api/v1/accounting/).

- POST /api/v1/accounting/reconciliations/ {"as_of"} (optional, default today): 202 with the job
- GET  /api/v1/accounting/reconciliations/?as_of=: runs, newest first
- GET  /api/v1/accounting/reconciliations/{id}/: a run with its counts and its job's status
- GET  /api/v1/accounting/reconciliations/{id}/breaks/?kind=&account=: its breaks

Thin: parse, call one service or selector, shape. Accounting and operations start runs; they and
compliance read.
"""

import django_filters
from django.http import Http404
from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.response import Response

from accounting.models import ReconciliationBreak, ReconciliationRun
from accounting.reconciliation import selectors, services
from backoffice.core.api import StrictDateFilter
from backoffice.core.fields import DECIMAL_SCHEMA, StrictDateField, format_decimal
from backoffice.core.jobs.api import JobOutput
from backoffice.core.jobs.models import JobRun
from backoffice.core.permissions import HasRole
from backoffice.core.roles import ACCOUNTING, COMPLIANCE, OPERATIONS
from records.reference.validators import format_amount

ReconciliationRole = HasRole(ACCOUNTING, OPERATIONS, read=(ACCOUNTING, OPERATIONS, COMPLIANCE))


class ReconciliationRunOutput(serializers.Serializer):
    id = serializers.IntegerField()
    as_of = serializers.DateField(help_text="The books compared as of the end of this day.")
    status = serializers.ChoiceField(choices=JobRun.Status.choices, source="job.status",
                                     help_text="The status of the run's job.")
    job = serializers.IntegerField(source="job_id", help_text="The batch job that ran it: /api/v1/jobs/{id}/.")
    job_kind = serializers.CharField(source="job.kind", help_text="accounting-reconciliation, or the end of day "
                                                                  "that reconciled as one of its steps.")
    started_by = serializers.CharField(source="job.started_by_label", help_text="Username, beat or a command.")
    created_at = serializers.DateTimeField(help_text="When the books were compared.")
    finished_at = serializers.DateTimeField(source="job.finished_at", allow_null=True)
    positions_checked = serializers.IntegerField(help_text="(Account, instrument) pairs compared: non-zero in the "
                                                           "ledger or in the stock record.")
    balances_checked = serializers.IntegerField(help_text="(Account, currency) pairs compared: non-zero in the "
                                                          "ledger or in the cash balances.")
    breaks = serializers.IntegerField(help_text="Pairs where the ledger and the records differ.")


class ReconciliationRunDetailOutput(ReconciliationRunOutput):
    breaks_by_kind = serializers.SerializerMethodField()
    error = serializers.CharField(source="job.error", help_text="Why the job failed; empty otherwise.")

    @extend_schema_field({"type": "object", "additionalProperties": {"type": "integer"},
                          "example": {"SECURITIES": 0, "CASH": 1}})
    def get_breaks_by_kind(self, run):
        return selectors.reconciliation_break_counts(run)


@extend_schema_field(DECIMAL_SCHEMA)
class FigureField(serializers.Field):
    """A break's figure: a quantity for securities, an amount with its currency's minor units for cash."""

    def __init__(self, **kwargs):
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, row):
        value = getattr(row, self.field_name)
        if row.kind == ReconciliationBreak.Kind.CASH:
            return format_amount(value, row.currency)
        return format_decimal(value)


class ReconciliationBreakOutput(serializers.Serializer):
    id = serializers.IntegerField()
    run = serializers.IntegerField(source="run_id")
    kind = serializers.ChoiceField(choices=ReconciliationBreak.Kind.choices)
    account = serializers.CharField(source="account.code")
    instrument = serializers.CharField(source="instrument.isin", allow_null=True, default=None,
                                       help_text="ISIN (securities); null for cash.")
    currency = serializers.SerializerMethodField()
    ledger = FigureField(help_text="The ledger: Σ quantity on Investments, or Σ amount on Cash.")
    records = FigureField(help_text="The stock record's trade-date position, or the cash balance.")
    difference = FigureField(help_text="ledger - records.")

    @extend_schema_field(serializers.CharField(allow_null=True, help_text="ISO 4217 (cash); null for securities."))
    def get_currency(self, row):
        return row.currency or None


class ReconciliationStartInput(serializers.Serializer):
    as_of = StrictDateField(required=False, allow_null=True,
                            help_text="YYYY-MM-DD, today or earlier; default today.")


class ReconciliationRunFilter(django_filters.FilterSet):
    as_of = StrictDateFilter()

    class Meta:
        model = ReconciliationRun
        fields = ["as_of"]


class ReconciliationBreakFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=ReconciliationBreak.Kind.choices)
    account = django_filters.CharFilter(field_name="account__code", lookup_expr="iexact", help_text="Account code.")

    class Meta:
        model = ReconciliationBreak
        fields = ["kind", "account"]


class ReconciliationRunListApi(generics.ListAPIView):
    permission_classes = [ReconciliationRole]
    serializer_class = ReconciliationRunOutput
    filterset_class = ReconciliationRunFilter

    def get_queryset(self):
        return selectors.reconciliation_run_list()

    @extend_schema(description="Reconciliation runs of the ledger to the stock record and the cash balances, newest "
                               "first.")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=ReconciliationStartInput,
        responses={202: OpenApiResponse(JobOutput, description=(
            "The accounting-reconciliation job, queued: follow it at /api/v1/jobs/{id}/. Its result names the "
            "reconciliation run, with the pairs checked and the breaks."))},
        description="Reconcile the ledger's investments and cash accounts to the stock record and the cash balances, "
                    "per account and instrument and per account and currency, as of a date.")
    def post(self, request):
        data = ReconciliationStartInput(data=request.data)
        data.is_valid(raise_exception=True)
        job = services.reconciliation_start(as_of=data.validated_data.get("as_of"), started_by=request.user)
        return Response(JobOutput(job, context={"request": request}).data, status=status.HTTP_202_ACCEPTED)


class ReconciliationRunDetailApi(generics.GenericAPIView):
    permission_classes = [ReconciliationRole]
    serializer_class = ReconciliationRunDetailOutput

    @extend_schema(description="One reconciliation run: as of, the pairs checked, its breaks (per kind) and its "
                               "job's status.")
    def get(self, request, run_id: int):
        run = selectors.reconciliation_run_get(run_id)
        if run is None:
            raise Http404
        return Response(ReconciliationRunDetailOutput(run).data)


class ReconciliationBreakListApi(generics.ListAPIView):
    permission_classes = [ReconciliationRole]
    serializer_class = ReconciliationBreakOutput
    filterset_class = ReconciliationBreakFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator, without a run
            return ReconciliationBreak.objects.none()
        run_id = self.kwargs["run_id"]
        if selectors.reconciliation_run_get(run_id) is None:
            raise Http404
        return selectors.reconciliation_break_list(run=run_id)

    @extend_schema(description="The breaks of a run: cash then securities, by account and currency or instrument. "
                               "difference = ledger - records.")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


urlpatterns = [
    path("reconciliations/", ReconciliationRunListApi.as_view(), name="api-accounting-reconciliations"),
    path("reconciliations/<int:run_id>/", ReconciliationRunDetailApi.as_view(),
         name="api-accounting-reconciliation"),
    path("reconciliations/<int:run_id>/breaks/", ReconciliationBreakListApi.as_view(),
         name="api-accounting-reconciliation-breaks"),
]
