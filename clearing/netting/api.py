"""The API of clearing's netting (included by clearing/api_urls.py): clearing runs and net obligations.

API.md "Clearing". Thin: parse, call one service or selector, shape. Operations start runs;
operations, compliance and accounting read.
"""

import django_filters
from django.http import Http404
from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.response import Response

from backoffice.core.api import StrictDateFilter
from backoffice.core.fields import QUANTITY, StrictDateField, StrictDecimalField, format_decimal
from backoffice.core.jobs.api import JobStepOutput
from backoffice.core.jobs.models import JobRun
from backoffice.core.permissions import HasRole
from backoffice.core.roles import ACCOUNTING, COMPLIANCE, OPERATIONS
from clearing.models import ClearingRun, Obligation
from clearing.netting import selectors
from clearing.netting import services as netting
from records.reference.validators import format_amount

NettingRole = HasRole(OPERATIONS, read=(OPERATIONS, COMPLIANCE, ACCOUNTING))

RATIO_SCHEMA = {"type": "string", "format": "decimal", "pattern": r"^-?\d+(\.\d+)?$", "nullable": True,
                "example": "0.9512"}
DECIMAL_SCHEMA = {"type": "string", "format": "decimal", "pattern": r"^-?\d+(\.\d+)?$"}


@extend_schema_field(DECIMAL_SCHEMA | {"description": "Exact, with at least the currency's minor units."})
class CurrencyAmountField(serializers.Field):
    """An amount in the object's currency: at least its minor units ("1.50" USD, "150" JPY), never rounded."""

    def __init__(self, *, amount: str | None = None, **kwargs):
        self.amount = amount
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, value):
        return format_amount(getattr(value, self.amount or self.field_name), value.currency)


@extend_schema_field(DECIMAL_SCHEMA)
class PlainDecimalField(serializers.Field):
    """A decimal as plain text, no trailing zeros (a sum over several currencies has no minor units)."""

    def __init__(self, **kwargs):
        super().__init__(read_only=True, **kwargs)

    def to_representation(self, value):
        return format_decimal(value)


@extend_schema_field(RATIO_SCHEMA)
class RatioField(serializers.Field):
    def __init__(self, **kwargs):
        super().__init__(read_only=True, **kwargs)

    def to_representation(self, value):
        return None if value is None else format(value, "f")


class EfficiencyOutput(serializers.Serializer):
    by_count = RatioField(help_text="1 - obligations / trades: the share of settlements netting saved. "
                                    "Null when nothing was netted.")
    by_value = RatioField(help_text="1 - Σ|net cash| / Σ|quantity × price|. Null when nothing was netted.")


class CurrencyFiguresOutput(serializers.Serializer):
    currency = serializers.CharField()
    trades = serializers.IntegerField()
    obligations = serializers.IntegerField()
    gross_value = CurrencyAmountField(help_text="Σ |quantity × price| of the trades netted.")
    net_value = CurrencyAmountField(help_text="Σ |net cash| of the obligations.")
    pay = CurrencyAmountField(help_text="Σ net cash the accounts pay.")
    receive = CurrencyAmountField(help_text="Σ net cash the accounts receive.")
    gross_quantity = StrictDecimalField(kind=QUANTITY)
    net_quantity = StrictDecimalField(kind=QUANTITY)
    efficiency = serializers.SerializerMethodField()

    @extend_schema_field(EfficiencyOutput)
    def get_efficiency(self, figures):
        return {"by_count": RatioField().to_representation(figures.count_efficiency),
                "by_value": RatioField().to_representation(figures.value_efficiency)}


class ClearingRunOutput(serializers.Serializer):
    id = serializers.IntegerField()
    settlement_date = serializers.DateField()
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
    trades_netted = serializers.IntegerField(help_text="Until the run completes: so far.")
    obligations_created = serializers.IntegerField()
    gross_quantity = StrictDecimalField(kind=QUANTITY, help_text="Σ quantity of the trades netted.")
    net_quantity = StrictDecimalField(kind=QUANTITY, help_text="Σ |net quantity| of the obligations.")
    gross_value = PlainDecimalField(help_text="Σ |quantity × price| of the trades netted, added over currencies at "
                                              "face value (no FX conversion): see by_currency on the run.")
    net_value = PlainDecimalField(help_text="Σ |net cash| of the obligations, over currencies at face value.")
    efficiency = serializers.SerializerMethodField()
    error = serializers.CharField(source="job.error", help_text="Why the run failed; empty otherwise.")

    @extend_schema_field(EfficiencyOutput)
    def get_efficiency(self, run):
        ratio = RatioField()
        return {"by_count": ratio.to_representation(selectors.efficiency(gross=run.trades_netted,
                                                                         net=run.obligations_created)),
                "by_value": ratio.to_representation(selectors.efficiency(gross=run.gross_value, net=run.net_value))}


class ClearingRunDetailOutput(ClearingRunOutput):
    by_currency = serializers.SerializerMethodField()

    @extend_schema_field(CurrencyFiguresOutput(many=True))
    def get_by_currency(self, run):
        return CurrencyFiguresOutput(selectors.clearing_run_figures(run), many=True).data


class ClearingRunInput(serializers.Serializer):
    settlement_date = StrictDateField(help_text="A settlement day of at least one market.")


class ClearingRunFilter(django_filters.FilterSet):
    settlement_date = StrictDateFilter()
    status = django_filters.ChoiceFilter(field_name="job__status", choices=JobRun.Status.choices)

    class Meta:
        model = ClearingRun
        fields = ["settlement_date", "status"]


class ClearingRunListApi(generics.ListAPIView):
    permission_classes = [NettingRole]
    serializer_class = ClearingRunOutput
    filterset_class = ClearingRunFilter

    def get_queryset(self):
        return selectors.clearing_run_list()

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        return None if page is None else selectors.clearing_runs_with_live_figures(page)

    @extend_schema(description="Clearing (netting) runs, newest first.")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=ClearingRunInput,
        responses={202: OpenApiResponse(ClearingRunOutput, description=(
            "The run, queued to a worker. The date's last run failed: that run is continued by a new job, so the "
            "answer names it again. A date with nothing to net gives a completed run with zero counts.")),
            409: OpenApiResponse(description="A run of this date is queued or running.")},
        description="Start the netting of a settlement date: its eligible trades (BOOKED, matched unless the "
                    "counterparty needs no matching) become net obligations; follow it at /api/v1/clearing/runs/{id}/.")
    def post(self, request):
        data = ClearingRunInput(data=request.data)
        data.is_valid(raise_exception=True)
        run = netting.clearing_run_start(settlement_date=data.validated_data["settlement_date"],
                                         started_by=request.user)
        run = selectors.clearing_runs_with_live_figures([selectors.clearing_run_get(run.pk)])[0]
        return Response(ClearingRunOutput(run).data, status=status.HTTP_202_ACCEPTED)


class ClearingRunDetailApi(generics.GenericAPIView):
    permission_classes = [NettingRole]
    serializer_class = ClearingRunDetailOutput

    @extend_schema(description="One clearing run: status, progress, counts, netting efficiency (overall and per "
                               "currency) and the error of a failed run.")
    def get(self, request, run_id: int):
        run = selectors.clearing_run_get(run_id)
        if run is None:
            raise Http404
        run = selectors.clearing_runs_with_live_figures([run])[0]
        return Response(ClearingRunDetailOutput(run).data)


class ObligationFilter(django_filters.FilterSet):
    settlement_date = StrictDateFilter()
    account = django_filters.CharFilter(field_name="account__code", help_text="Account code.")
    counterparty = django_filters.CharFilter(field_name="counterparty__code",
                                             help_text="Settlement counterparty code (the CCP for novated trades).")
    instrument = django_filters.CharFilter(field_name="instrument__isin", help_text="ISIN")
    run = django_filters.NumberFilter(field_name="run_id", help_text="Clearing run id.")
    status = django_filters.ChoiceFilter(choices=Obligation.Status.choices)

    class Meta:
        model = Obligation
        fields = ["settlement_date", "account", "counterparty", "instrument", "run", "status"]


class ObligationOutput(serializers.Serializer):
    id = serializers.IntegerField()
    account = serializers.CharField(source="account.code")
    counterparty = serializers.CharField(source="counterparty.code",
                                         help_text="The settlement counterparty: the CCP for novated trades.")
    instrument = serializers.CharField(source="instrument.isin")
    settlement_date = serializers.DateField()
    currency = serializers.CharField()
    net_quantity = StrictDecimalField(kind=QUANTITY, help_text="Σ buy − Σ sell: positive, the account receives "
                                                               "securities.")
    net_cash = CurrencyAmountField(help_text="Σ sell qty×price − Σ buy qty×price: positive, the account receives "
                                             "cash. Exact sums, rounded once to 4 places when they have more.")
    trade_count = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Obligation.Status.choices)
    run = serializers.IntegerField(source="run_id")
    buy_quantity = StrictDecimalField(kind=QUANTITY)
    sell_quantity = StrictDecimalField(kind=QUANTITY)
    buy_value = CurrencyAmountField(help_text="Σ qty×price of the buys.")
    sell_value = CurrencyAmountField(help_text="Σ qty×price of the sells.")
    created_at = serializers.DateTimeField()


class ObligationDetailOutput(ObligationOutput):
    trades = serializers.ListField(child=serializers.IntegerField(), source="trade_ids",
                                   help_text="The ids of the trades it nets (/api/v1/trades/{id}/).")


class ObligationListApi(generics.ListAPIView):
    permission_classes = [NettingRole]
    serializer_class = ObligationOutput
    filterset_class = ObligationFilter

    def get_queryset(self):
        return selectors.obligation_list()

    @extend_schema(description="Net obligations, newest first.")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class ObligationDetailApi(generics.GenericAPIView):
    permission_classes = [NettingRole]
    serializer_class = ObligationDetailOutput

    @extend_schema(description="One net obligation with the ids of the trades it nets.")
    def get(self, request, obligation_id: int):
        obligation = selectors.obligation_with_trade_ids(obligation_id)
        if obligation is None:
            raise Http404
        return Response(ObligationDetailOutput(obligation).data)


urlpatterns = [
    path("clearing/runs/", ClearingRunListApi.as_view(), name="api-clearing-runs"),
    path("clearing/runs/<int:run_id>/", ClearingRunDetailApi.as_view(), name="api-clearing-run"),
    path("clearing/obligations/", ObligationListApi.as_view(), name="api-clearing-obligations"),
    path("clearing/obligations/<int:obligation_id>/", ObligationDetailApi.as_view(),
         name="api-clearing-obligation"),
]
