"""The API of settlements' fails (included by settlements/api_urls.py): fails, their penalties, the penalty job.

API.md "Settlements". Thin: parse, call one service or selector, shape. Operations change a fail's
Reg SHO basis and start the penalty job; operations, compliance and accounting read.

- GET /api/v1/settlements/fails/?as_of=&account=&counterparty=&instrument=&kind=&cause=&age_bucket=&regsho=
- GET /api/v1/settlements/fails/{id}/?as_of= (with its penalties day by day); PATCH it: {regsho_basis, reason}
- POST /api/v1/settlements/fails/penalties/ {"date"}: 202 with the fail-penalties job
"""

from datetime import date
from decimal import Decimal

import django_filters
from django.http import Http404
from django.urls import path
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from backoffice.core.api import StrictDateFilter, query_param
from backoffice.core.fields import (
    PRICE,
    QUANTITY,
    RATE,
    InputError,
    StrictCharField,
    StrictDateField,
    StrictDecimalField,
    parse_date,
)
from backoffice.core.jobs.api import JobOutput
from backoffice.core.permissions import HasRole
from backoffice.core.roles import ACCOUNTING, COMPLIANCE, OPERATIONS
from records.reference.validators import format_amount
from settlements.fails import aging, rules, selectors, services
from settlements.iso20022.api import urlpatterns as iso20022_api
from settlements.models import SettlementFail

FailRole = HasRole(OPERATIONS, read=(OPERATIONS, COMPLIANCE, ACCOUNTING))

DECIMAL_SCHEMA = {"type": "string", "format": "decimal", "pattern": r"^-?\d+(\.\d+)?$"}
REGSHO_STATES = [("due", "Close-out deadline on as_of"), ("overdue", "Deadline before as_of"),
                 ("due-or-overdue", "Either")]
AS_OF_HELP = "YYYY-MM-DD; default today. Ages and penalties are counted up to this date."


def _as_of(request) -> date:
    """The ?as_of= of a request (default today), or a 400 naming it."""
    value = query_param(request, "as_of")
    if value is None:
        return timezone.localdate()
    try:
        return parse_date(value)
    except InputError as exc:
        raise ValidationError({"as_of": [exc.message]}) from None


@extend_schema_field(DECIMAL_SCHEMA | {"description": "With at least the currency's minor units."})
class CurrencyAmountField(serializers.Field):
    """An amount in the fail's currency: at least its minor units ("1.50" USD, "150" JPY)."""

    def __init__(self, *, currency: str = "currency", **kwargs):
        self.currency_path = currency.split(".")
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, value):
        amount = getattr(value, self.field_name)
        currency = value
        for name in self.currency_path:
            currency = getattr(currency, name)
        return None if amount is None else format_amount(amount, currency)


@extend_schema_field({"type": "string", "enum": list(rules.AGE_BUCKET_CODES)})
class AgeBucketField(serializers.CharField):
    pass


@extend_schema_field({"type": "string", "enum": ["due", "overdue", ""]})
class DeadlineStateField(serializers.CharField):
    pass


class FailFilter(django_filters.FilterSet):
    as_of = StrictDateFilter(method="_as_of", help_text=AS_OF_HELP)
    account = django_filters.CharFilter(field_name="instruction__account__code", help_text="Account code.")
    counterparty = django_filters.CharFilter(field_name="instruction__counterparty__code",
                                             help_text="Settlement counterparty code (the CCP for novated trades).")
    instrument = django_filters.CharFilter(field_name="instruction__instrument__isin", help_text="ISIN.")
    kind = django_filters.ChoiceFilter(choices=SettlementFail.Kind.choices)
    cause = django_filters.ChoiceFilter(choices=SettlementFail.Cause.choices)
    age_bucket = django_filters.ChoiceFilter(choices=[(code, code) for code in rules.AGE_BUCKET_CODES],
                                             method="_age_bucket", help_text="Age in settlement days on as_of.")
    regsho = django_filters.ChoiceFilter(choices=REGSHO_STATES, method="_regsho",
                                         help_text="Reg SHO close-out deadline due on as_of, overdue, or either.")

    class Meta:
        model = SettlementFail
        fields = ["as_of", "account", "counterparty", "instrument", "kind", "cause", "age_bucket", "regsho"]

    def _day(self) -> date:
        return self.form.cleaned_data.get("as_of") or timezone.localdate()

    def _as_of(self, queryset, name, value):
        return queryset  # read by the view (which open fails, ages and penalties up to when)

    def _age_bucket(self, queryset, name, value):
        return queryset.filter(aging.bucket_filter(as_of=self._day(), bucket=value))

    def _regsho(self, queryset, name, value):
        day = self._day()
        lookup = {"due": "close_out_deadline", "overdue": "close_out_deadline__lt"}.get(value,
                                                                                      "close_out_deadline__lte")
        return queryset.filter(**{lookup: day})


class FailOutput(serializers.Serializer):
    id = serializers.IntegerField()
    instruction = serializers.IntegerField(source="instruction_id",
                                           help_text="/api/v1/settlements/instructions/{id}/")
    account = serializers.CharField(source="instruction.account.code")
    counterparty = serializers.CharField(source="instruction.counterparty.code",
                                         help_text="The settlement counterparty (the CCP for novated trades).")
    instrument = serializers.CharField(source="instruction.instrument.isin")
    settlement_date = serializers.DateField(source="instruction.settlement_date")
    kind = serializers.ChoiceField(choices=SettlementFail.Kind.choices,
                                   help_text="DELIVER: we fail to deliver; RECEIVE: we fail to receive.")
    cause = serializers.ChoiceField(choices=SettlementFail.Cause.choices)
    failed_on = serializers.DateField()
    closed_on = serializers.DateField(allow_null=True)
    unsettled_quantity = StrictDecimalField(kind=QUANTITY, read_only=True, source="unsettled_on",
                                            help_text="What was still to settle on as_of.")
    currency = serializers.CharField(source="instruction.currency")
    age_days = serializers.IntegerField(help_text="Settlement days of the instrument's market after failed_on, up to "
                                                  "as_of (or the day it closed).")
    age_bucket = AgeBucketField()
    penalty_accrued = CurrencyAmountField(currency="instruction.currency", help_text="Σ daily penalties up to as_of.")
    penalty_payable = serializers.BooleanField(source="payable", help_text="True: we are the failing party and pay "
                                                                           "the penalties; false: we receive them.")
    regsho_basis = serializers.CharField(help_text="SHORT, LONG or RULE_144 for a fail to deliver of a US equity "
                                                   "security; empty otherwise (or not yet set by the penalty job).")
    close_out_deadline = serializers.DateField(allow_null=True, help_text="Reg SHO Rule 204: close out by the "
                                                                          "opening of this day.")
    close_out_state = DeadlineStateField(source="deadline_state", help_text="due (on as_of), overdue, or empty.")


class PenaltyOutput(serializers.Serializer):
    penalty_date = serializers.DateField()
    unsettled_quantity = StrictDecimalField(kind=QUANTITY, read_only=True)
    reference_price = StrictDecimalField(kind=PRICE, read_only=True, help_text="The day's closing price; for a lack "
                                                                               "of cash, the unsettled cash per unit.")
    rate = StrictDecimalField(kind=RATE, read_only=True)
    amount = CurrencyAmountField()
    currency = serializers.CharField()


class FailDetailOutput(FailOutput):
    instruction_status = serializers.CharField(source="instruction.status")
    penalties = serializers.SerializerMethodField()

    @extend_schema_field(PenaltyOutput(many=True))
    def get_penalties(self, fail):
        return PenaltyOutput(fail.penalty_rows, many=True).data


class RegShoInput(serializers.Serializer):
    regsho_basis = serializers.ChoiceField(choices=SettlementFail.RegShoBasis.choices)
    reason = StrictCharField(max_length=500, help_text="Why (the locate, the short marking, the Rule 144 legend).")


class PenaltyRunInput(serializers.Serializer):
    date = StrictDateField(help_text="Today or earlier; a settlement day of some market.")


class FailListApi(generics.ListAPIView):
    permission_classes = [FailRole]
    serializer_class = FailOutput
    filterset_class = FailFilter

    def get_queryset(self):
        self.as_of = _as_of(self.request)
        return selectors.fail_list(as_of=self.as_of)

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        return None if page is None else aging.with_ages(page, as_of=self.as_of)

    @extend_schema(description="Fails open on as_of (failed by then, not settled by then), oldest first, with their "
                               "age in settlement days, penalties accrued and Reg SHO close-out deadline.")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


def _detail(fail: SettlementFail, *, as_of: date) -> dict:
    (fail,) = aging.with_ages([fail], as_of=as_of)
    fail.penalty_rows = list(selectors.fail_penalties(fail, as_of=as_of))
    fail.penalty_accrued = sum((penalty.amount for penalty in fail.penalty_rows), start=Decimal(0))
    return FailDetailOutput(fail).data


class FailDetailApi(generics.GenericAPIView):
    permission_classes = [FailRole]
    serializer_class = FailDetailOutput

    @extend_schema(parameters=[OpenApiParameter("as_of", str, description=AS_OF_HELP)],
                   description="One fail (open or closed) with its penalties day by day up to as_of.")
    def get(self, request, fail_id: int):
        as_of = _as_of(request)
        fail = selectors.fail_get(fail_id, as_of=as_of)
        if fail is None:
            raise Http404
        return Response(_detail(fail, as_of=as_of))

    @extend_schema(request=RegShoInput, responses={200: FailDetailOutput, 409: OpenApiResponse(
        description="The fail is closed.")},
        description="Set a fail to deliver's Reg SHO basis (operations): SHORT (close out by the settlement day "
                    "after the settlement date), LONG (the third) or RULE_144 (the 35th calendar day after the trade "
                    "date); the close-out deadline is recomputed. 400 for a fail Rule 204 does not reach.")
    def patch(self, request, fail_id: int):
        if selectors.fail_get(fail_id) is None:
            raise Http404
        data = RegShoInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.fail_regsho_basis_set(actor=request.user, fail_id=fail_id,
                                       basis=data.validated_data["regsho_basis"],
                                       reason=data.validated_data["reason"])
        return Response(_detail(selectors.fail_get(fail_id), as_of=timezone.localdate()))


class FailPenaltyRunApi(generics.GenericAPIView):
    permission_classes = [HasRole(OPERATIONS)]
    serializer_class = JobOutput

    @extend_schema(request=PenaltyRunInput, responses={202: OpenApiResponse(JobOutput, description=(
        "The fail-penalties job, queued: follow it at /api/v1/jobs/{id}/."))},
        description="Accrue a day's CSDR cash penalties of the fails open that day (and give new fails to deliver "
                    "their Reg SHO basis and deadline). Idempotent per day: a rerun adds nothing.")
    def post(self, request):
        data = PenaltyRunInput(data=request.data)
        data.is_valid(raise_exception=True)
        job = services.fail_penalties_start(penalty_date=data.validated_data["date"], started_by=request.user)
        return Response(JobOutput(job, context={"request": request}).data, status=status.HTTP_202_ACCEPTED)


urlpatterns = [
    path("settlements/fails/", FailListApi.as_view(), name="api-settlement-fails"),
    path("settlements/fails/penalties/", FailPenaltyRunApi.as_view(), name="api-settlement-fail-penalties"),
    path("settlements/fails/<int:fail_id>/", FailDetailApi.as_view(), name="api-settlement-fail"),
    # ISO 20022 (settlements/iso20022/api.py): wired here so that settlements/api_urls.py needs no change.
    *iso20022_api,
]
