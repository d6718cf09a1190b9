"""The API of settlements' instructions (included by settlements/api_urls.py): API.md "Settlements".

Instructions: list and detail, allow-partial (PATCH) and a counterparty's failure before settlement.
Standing settlement instructions: list and detail; a new one (POST) or a change (PATCH) is proposed
under maker-checker and answers 202 with the proposal. Thin: parse, call one service or selector,
shape. Operations writes; operations, compliance and accounting read instructions; every role
reads SSIs (reference data).
"""

import django_filters
from django.http import Http404
from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from backoffice.core.api import StrictDateFilter
from backoffice.core.fields import (
    QUANTITY,
    StrictBooleanField,
    StrictCharField,
    StrictDateField,
    StrictDecimalField,
)
from backoffice.core.permissions import HasRole
from backoffice.core.roles import ACCOUNTING, ALL_ROLES, COMPLIANCE, OPERATIONS
from records.approvals import services as approvals
from records.approvals.api import ChangeRequestOutput
from records.reference.validators import format_amount
from settlements.instructions import selectors
from settlements.instructions.kinds import SSI_CHANGE
from settlements.instructions.services import instructions as services
from settlements.models import SettlementInstruction, StandingSettlementInstruction

InstructionRole = HasRole(OPERATIONS, read=(OPERATIONS, COMPLIANCE, ACCOUNTING))
SsiRole = HasRole(OPERATIONS, read=ALL_ROLES)
PROPOSED_THROUGH_API = "proposed through the API"

AMOUNT_SCHEMA = {"type": "string", "format": "decimal", "pattern": r"^-?\d+(\.\d+)?$",
                 "description": "Exact, with at least the currency's minor units."}


@extend_schema_field(AMOUNT_SCHEMA)
class CurrencyAmountField(serializers.Field):
    """An amount in the instruction's currency: at least its minor units ("-1322.50" USD), never rounded."""

    def __init__(self, **kwargs):
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, value):
        return format_amount(getattr(value, self.field_name), value.currency)


def _only(data, allowed: tuple[str, ...]) -> dict:
    """The body as an object with only the allowed fields, else a 400 naming the first other one."""
    if not isinstance(data, dict):
        raise ValidationError({"non_field_errors": ["Expected a JSON object."]})
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ValidationError({unknown[0]: [f"Unknown field; expected one of {', '.join(allowed)}."]})
    return data


# Serializers ----------------------------------------------------------------------------------

class SsiOutput(serializers.Serializer):
    id = serializers.IntegerField()
    counterparty = serializers.CharField(source="counterparty.code")
    market = serializers.CharField(source="market.mic", allow_null=True, default=None,
                                   help_text="MIC; null: the counterparty's default for any market.")
    depository_bic = serializers.CharField(help_text="The central securities depository, e.g. DTCYUS33.")
    place_of_settlement_bic = serializers.CharField()
    agent_bic = serializers.CharField(help_text="The counterparty's settlement agent.")
    safekeeping_account = serializers.CharField(help_text="The counterparty's account at the depository.")
    effective_from = serializers.DateField()
    effective_to = serializers.DateField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class InstructionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    account = serializers.CharField(source="account.code")
    counterparty = serializers.CharField(source="counterparty.code",
                                         help_text="The settlement counterparty: the CCP for novated trades.")
    instrument = serializers.CharField(source="instrument.isin")
    settlement_date = serializers.DateField()
    direction = serializers.ChoiceField(choices=SettlementInstruction.Direction.choices,
                                        help_text="RECEIVE or DELIVER securities (a payment only: quantity 0, the "
                                                  "direction of its cash: DELIVER when the account receives it).")
    quantity = StrictDecimalField(kind=QUANTITY, help_text="What moves, never negative.")
    cash_amount = CurrencyAmountField(help_text="Signed from the account's side: positive, it receives cash.")
    currency = serializers.CharField()
    settled_quantity = StrictDecimalField(kind=QUANTITY)
    settled_cash = CurrencyAmountField()
    status = serializers.ChoiceField(choices=SettlementInstruction.Status.choices,
                                     help_text="HELD (see hold_reason) until a standing settlement instruction "
                                               "covers it, then PENDING; PARTIAL, FAILED, SETTLED, CANCELLED.")
    allow_partial = serializers.BooleanField()
    payment = serializers.ChoiceField(choices=SettlementInstruction.Payment.choices,
                                      help_text="APMT: against payment; FREE: free of payment (no cash).")
    ssi = SsiOutput(allow_null=True, help_text="The standing settlement instruction it settles under.")
    hold_reason = serializers.CharField()
    obligation = serializers.IntegerField(source="obligation_id", allow_null=True,
                                          help_text="The net obligation it settles (/api/v1/clearing/obligations/).")
    trade = serializers.IntegerField(source="trade_id", allow_null=True,
                                     help_text="The gross trade it settles, when not netted.")
    counterparty_failed_at = serializers.DateTimeField(allow_null=True)
    counterparty_fail_reason = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    settled_at = serializers.DateTimeField(allow_null=True)


class InstructionDetailOutput(InstructionOutput):
    trades = serializers.ListField(child=serializers.IntegerField(), source="trade_ids",
                                   help_text="The ids of the trades it settles (/api/v1/trades/{id}/).")


class AllowPartialInput(serializers.Serializer):
    allow_partial = StrictBooleanField(help_text="Whether the settlement run may settle it in part.")
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="",
                                   help_text="Kept in the audit trail.")


class GrossInstructionInput(serializers.Serializer):
    trade = serializers.IntegerField(min_value=1, max_value=2**63 - 1, help_text="The id of a booked trade.")
    reason = StrictCharField(max_length=200, required=False, default="",
                             help_text="Why it settles gross, outside netting (kept in the audit trail).")


class CounterpartyFailInput(serializers.Serializer):
    reason = StrictCharField(max_length=200, help_text="What the counterparty failed to do, e.g. "
                                                       "\"no securities at their agent\".")


class SsiInput(serializers.Serializer):
    counterparty = StrictCharField(max_length=30, help_text="Counterparty code.")
    market = StrictCharField(max_length=4, allow_null=True, required=False, default=None,
                             help_text="MIC; null or absent: the counterparty's default for any market.")
    depository_bic = StrictCharField(max_length=11, help_text="BIC (ISO 9362), 8 or 11 characters.")
    place_of_settlement_bic = StrictCharField(max_length=11)
    agent_bic = StrictCharField(max_length=11)
    safekeeping_account = StrictCharField(max_length=35)
    effective_from = StrictDateField()
    effective_to = StrictDateField(allow_null=True, required=False, default=None)
    reason = serializers.CharField(max_length=1000, required=False, help_text="Why: shown to the approver.")


class SsiChangeInput(serializers.Serializer):
    depository_bic = StrictCharField(max_length=11, required=False)
    place_of_settlement_bic = StrictCharField(max_length=11, required=False)
    agent_bic = StrictCharField(max_length=11, required=False)
    safekeeping_account = StrictCharField(max_length=35, required=False)
    effective_from = StrictDateField(required=False)
    effective_to = StrictDateField(allow_null=True, required=False)
    reason = serializers.CharField(max_length=1000, required=False, help_text="Why: shown to the approver.")


# Filters --------------------------------------------------------------------------------------

class InstructionFilter(django_filters.FilterSet):
    settlement_date = StrictDateFilter()
    status = django_filters.ChoiceFilter(choices=SettlementInstruction.Status.choices)
    account = django_filters.CharFilter(field_name="account__code", help_text="Account code.")
    counterparty = django_filters.CharFilter(field_name="counterparty__code",
                                             help_text="Settlement counterparty code (the CCP for novated trades).")
    instrument = django_filters.CharFilter(field_name="instrument__isin", help_text="ISIN")
    direction = django_filters.ChoiceFilter(choices=SettlementInstruction.Direction.choices)
    currency = django_filters.CharFilter()

    class Meta:
        model = SettlementInstruction
        fields = ["settlement_date", "status", "account", "counterparty", "instrument", "direction", "currency"]


class SsiFilter(django_filters.FilterSet):
    counterparty = django_filters.CharFilter(field_name="counterparty__code", help_text="Counterparty code.")
    market = django_filters.CharFilter(field_name="market__mic", help_text="MIC (the default SSIs have none).")
    active_on = StrictDateFilter(method="_active_on", help_text="Only those effective on this date.")

    class Meta:
        model = StandingSettlementInstruction
        fields = ["counterparty", "market", "active_on"]

    def _active_on(self, queryset, name, value):
        return queryset.filter(selectors.ssi_effective_on(value))


# Views: instructions --------------------------------------------------------------------------

def _instruction_or_404(instruction_id: int) -> SettlementInstruction:
    instruction = selectors.instruction_get(instruction_id)
    if instruction is None:
        raise Http404
    instruction.trade_ids = selectors.instruction_trade_ids([instruction])[instruction.pk]
    return instruction


_CONFLICT = OpenApiResponse(description="The instruction has settled (in part or in whole) or was cancelled.")


class InstructionListApi(generics.ListAPIView):
    permission_classes = [InstructionRole]
    serializer_class = InstructionOutput
    filterset_class = InstructionFilter

    def get_queryset(self):
        return selectors.instruction_list()

    @extend_schema(description="Settlement instructions, newest first: one per net obligation of a clearing run "
                               "(created as the run completes) or per gross trade.")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(request=GrossInstructionInput, responses={
        201: InstructionDetailOutput,
        200: OpenApiResponse(InstructionDetailOutput, description="The trade was instructed gross before: its "
                                                                  "instruction, unchanged."),
        400: OpenApiResponse(description="No such trade, or a field is invalid."),
        409: OpenApiResponse(description="The trade is not booked (held, cancelled, cleared), is netted, or is not "
                                         "matched while its counterparty requires matching.")},
        description="Instruct one booked trade gross, outside netting: a RECEIVE for a buy, a DELIVER for a sell, "
                    "against payment, to the CCP where the counterparty clears through one. The trade moves to "
                    "CLEARED, so no clearing run nets it; the instruction is held when no SSI covers it. Audited.")
    def post(self, request, *args, **kwargs):
        data = GrossInstructionInput(data=_only(request.data, ("trade", "reason")))
        data.is_valid(raise_exception=True)
        trade_id = data.validated_data["trade"]
        existed = selectors.instruction_of_trade(trade_id) is not None
        instruction = services.instruction_create_for_trade(actor=request.user, trade_id=trade_id,
                                                            reason=data.validated_data["reason"])
        return Response(InstructionDetailOutput(_instruction_or_404(instruction.pk)).data,
                        status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED)


class InstructionDetailApi(generics.GenericAPIView):
    permission_classes = [InstructionRole]
    serializer_class = InstructionDetailOutput

    @extend_schema(description="One settlement instruction with the ids of the trades it settles.")
    def get(self, request, instruction_id: int):
        return Response(InstructionDetailOutput(_instruction_or_404(instruction_id)).data)

    @extend_schema(request=AllowPartialInput, responses={200: InstructionDetailOutput, 409: _CONFLICT},
                   description="Allow or forbid partial settlement before the instruction settles; takes effect at "
                               "once (audited). 409 once it settled, in part or in whole, or was cancelled.")
    def patch(self, request, instruction_id: int):
        instruction = _instruction_or_404(instruction_id)
        data = AllowPartialInput(data=_only(request.data, ("allow_partial", "reason")))
        data.is_valid(raise_exception=True)
        services.instruction_allow_partial_set(actor=request.user, instruction_id=instruction.pk,
                                               allow_partial=data.validated_data["allow_partial"],
                                               reason=data.validated_data["reason"])
        return Response(InstructionDetailOutput(_instruction_or_404(instruction.pk)).data)


class InstructionCounterpartyFailApi(generics.GenericAPIView):
    permission_classes = [InstructionRole]
    serializer_class = InstructionDetailOutput

    @extend_schema(request=CounterpartyFailInput, responses={200: InstructionDetailOutput, 409: _CONFLICT},
                   description="Record that the counterparty failed to deliver or to pay: the instruction does not "
                               "settle while it stands. Takes effect at once (audited); recorded again, the time and "
                               "reason are replaced. 409 on a settled or cancelled instruction.")
    def post(self, request, instruction_id: int):
        instruction = _instruction_or_404(instruction_id)
        data = CounterpartyFailInput(data=_only(request.data, ("reason",)))
        data.is_valid(raise_exception=True)
        services.instruction_counterparty_fail(actor=request.user, instruction_id=instruction.pk,
                                               reason=data.validated_data["reason"])
        return Response(InstructionDetailOutput(_instruction_or_404(instruction.pk)).data)


# Views: standing settlement instructions --------------------------------------------------------

def _proposed(what: str) -> dict:
    return {
        202: OpenApiResponse(ChangeRequestOutput, description=(
            f"The {what} is proposed, not made: it takes effect when a different operations user approves it "
            "(POST /api/v1/approvals/{id}/approve/). Approved, the held instructions it covers become PENDING.")),
        400: OpenApiResponse(description="A field is invalid (a BIC, a date, an unknown counterparty or market), or "
                                         "the change changes nothing."),
        409: OpenApiResponse(description="An SSI of the counterparty for that market starts the same day, or a "
                                         "proposal for the same SSI is already awaiting approval."),
    }


def _propose(request, payload: dict, reason: str) -> Response:
    change = approvals.change_propose(actor=request.user, kind=SSI_CHANGE, payload=payload,
                                      reason=reason or PROPOSED_THROUGH_API)
    return Response(ChangeRequestOutput(change).data, status=status.HTTP_202_ACCEPTED)


def _payload(values: dict) -> dict:
    return {name: value.isoformat() if hasattr(value, "isoformat") else value for name, value in values.items()}


class SsiListApi(generics.ListAPIView):
    permission_classes = [SsiRole]
    serializer_class = SsiOutput
    filterset_class = SsiFilter

    def get_queryset(self):
        return selectors.ssi_list()

    @extend_schema(description="Standing settlement instructions: where each counterparty settles, per market "
                               "(or for any market), by counterparty and market, newest start first.")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(request=SsiInput, responses=_proposed("new standing settlement instruction"),
                   description="Propose a new standing settlement instruction (maker-checker).")
    def post(self, request):
        data = SsiInput(data=_only(request.data, tuple(SsiInput().fields)))
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        reason = values.pop("reason", "")
        return _propose(request, _payload(values), reason)


class SsiDetailApi(generics.GenericAPIView):
    permission_classes = [SsiRole]
    serializer_class = SsiOutput

    def _get(self, ssi_id: int) -> StandingSettlementInstruction:
        ssi = selectors.ssi_get(ssi_id)
        if ssi is None:
            raise Http404
        return ssi

    @extend_schema(description="One standing settlement instruction.")
    def get(self, request, ssi_id: int):
        return Response(SsiOutput(self._get(ssi_id)).data)

    @extend_schema(request=SsiChangeInput, responses=_proposed("change"),
                   description="Propose a change to a standing settlement instruction (maker-checker): its BICs, "
                               "safekeeping account or effective dates; its counterparty and market never change.")
    def patch(self, request, ssi_id: int):
        ssi = self._get(ssi_id)
        data = SsiChangeInput(data=_only(request.data, tuple(SsiChangeInput().fields)))
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        reason = values.pop("reason", "")
        return _propose(request, {"id": ssi.pk, "changes": _payload(values)}, reason)


urlpatterns = [
    path("settlements/instructions/", InstructionListApi.as_view(), name="api-settlement-instructions"),
    path("settlements/instructions/<int:instruction_id>/", InstructionDetailApi.as_view(),
         name="api-settlement-instruction"),
    path("settlements/instructions/<int:instruction_id>/counterparty-fail/", InstructionCounterpartyFailApi.as_view(),
         name="api-settlement-instruction-counterparty-fail"),
    path("settlements/ssis/", SsiListApi.as_view(), name="api-settlement-ssis"),
    path("settlements/ssis/<int:ssi_id>/", SsiDetailApi.as_view(), name="api-settlement-ssi"),
]
