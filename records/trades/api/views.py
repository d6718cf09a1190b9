"""Trades API (docs/api-guide.md, "Trades"). Thin: parse, call a service, shape."""

import django_filters
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from backoffice.core.api import StrictDateFilter
from backoffice.core.fields import StrictCharField
from backoffice.core.permissions import HasRole
from backoffice.core.roles import ALL_ROLES, COMPLIANCE, FRONT_OFFICE, OPERATIONS
from records.approvals import services as approvals
from records.approvals.api import ChangeRequestOutput
from records.trades import selectors
from records.trades import services as trade_services
from records.trades.api import serializers as s
from records.trades.bulk import trade_submit_raw
from records.trades.input import parse_trade
from records.trades.models import Trade

MAX_BULK = 10_000

TradeRole = HasRole(FRONT_OFFICE, OPERATIONS, read=ALL_ROLES)
ReleaseRole = HasRole(OPERATIONS, COMPLIANCE)


class TradeFilter(django_filters.FilterSet):
    account = django_filters.CharFilter(field_name="account__code")
    instrument = django_filters.CharFilter(field_name="instrument__isin", help_text="ISIN")
    counterparty = django_filters.CharFilter(field_name="counterparty__code")
    status = django_filters.ChoiceFilter(choices=Trade.Status.choices, method="filter_status")
    side = django_filters.ChoiceFilter(choices=Trade.Side.choices)
    trade_date = StrictDateFilter()
    settlement_date = StrictDateFilter()
    external_ref = django_filters.CharFilter()
    trade_date_from = StrictDateFilter(field_name="trade_date", lookup_expr="gte")
    trade_date_to = StrictDateFilter(field_name="trade_date", lookup_expr="lte")

    class Meta:
        model = Trade
        fields = ["account", "instrument", "counterparty", "status", "side", "trade_date", "settlement_date",
                  "external_ref", "trade_date_from", "trade_date_to"]

    def filter_status(self, queryset, name, value):
        return selectors.trades_in_status(queryset, value)


class TradeListCreateApi(generics.ListAPIView):
    permission_classes = [TradeRole]
    serializer_class = s.TradeOutput
    filterset_class = TradeFilter

    def get_queryset(self):
        return selectors.trade_list()

    @extend_schema(
        request=s.TradeInputSchema,
        responses={
            201: OpenApiResponse(s.TradeOutput, description="Booked (status BOOKED) or held by a pre-trade check "
                                                            "(status HELD)."),
            200: OpenApiResponse(s.TradeOutput, description="The same body was submitted before with this "
                                                            "external_ref: the existing trade, nothing booked."),
            409: OpenApiResponse(description="external_ref already used by you for a different trade."),
        },
        description="Submit one trade. Pre-trade checks that reject answer 400 with reasons under `compliance`.",
    )
    def post(self, request):
        item, errors = parse_trade(request.data)
        if errors:
            raise ValidationError(errors)
        result = trade_services.trade_submit(submitted_by=request.user, item=item)
        if result.status == trade_services.CONFLICT:
            return Response({"detail": result.errors["external_ref"][0]}, status=status.HTTP_409_CONFLICT)
        if result.status == trade_services.REJECTED:
            raise ValidationError(result.errors)
        trade = result.trade if result.status == trade_services.CREATED else selectors.trade_get(result.trade_id)
        code = status.HTTP_201_CREATED if result.status == trade_services.CREATED else status.HTTP_200_OK
        return Response(s.trade_representation(trade), status=code)


class TradeBulkApi(APIView):
    permission_classes = [HasRole(FRONT_OFFICE, OPERATIONS)]

    @extend_schema(
        request=s.BulkInputSchema,
        responses={200: s.BulkOutput, 413: OpenApiResponse(description="More than 10,000 trades.")},
        description="Submit up to 10,000 trades. Valid items are booked even when others are rejected; an "
                    "item whose external_ref you used for a different trade is rejected.",
    )
    def post(self, request):
        body = request.data
        if not isinstance(body, dict) or not isinstance(body.get("trades"), list):
            raise ValidationError({"trades": ["Expected a list of trades under \"trades\"."]})
        items = body["trades"]
        if len(items) > MAX_BULK:
            return Response({"detail": f"At most {MAX_BULK} trades per request; got {len(items)}."},
                            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        if not items:
            raise ValidationError({"trades": ["Give at least one trade."]})
        ordered = trade_submit_raw(submitted_by=request.user, items=items)
        counts = {"created": 0, "duplicate": 0, "rejected": 0}
        for r in ordered:
            counts[r["status"]] += 1
        return Response({"created": counts["created"], "duplicates": counts["duplicate"],
                         "rejected": counts["rejected"], "results": ordered})


def _trade_or_404(trade_id: int):
    trade = selectors.trade_get(trade_id)
    if trade is None:
        raise Http404
    return trade


class TradeDetailApi(APIView):
    permission_classes = [TradeRole]

    @extend_schema(responses=s.TradeDetailOutput)
    def get(self, request, trade_id: int):
        return Response(s.TradeDetailOutput(_trade_or_404(trade_id)).data)


class TradeCancelApi(APIView):
    permission_classes = [HasRole(FRONT_OFFICE, OPERATIONS)]

    @extend_schema(request=s.CancelInput, responses={200: s.TradeDetailOutput,
                                                     409: OpenApiResponse(description="Already cleared or settled.")})
    def post(self, request, trade_id: int):
        _trade_or_404(trade_id)
        data = s.CancelInput(data=request.data)
        data.is_valid(raise_exception=True)
        trade_services.trade_cancel(actor=request.user, trade_id=trade_id, reason=data.validated_data["reason"])
        return Response(s.TradeDetailOutput(selectors.trade_get(trade_id)).data)


class TradeAmendApi(APIView):
    permission_classes = [HasRole(FRONT_OFFICE, OPERATIONS)]

    @extend_schema(request=s.AmendInput, responses={200: s.TradeDetailOutput,
                                                    409: OpenApiResponse(description="Already cleared or settled.")})
    def post(self, request, trade_id: int):
        _trade_or_404(trade_id)
        data = s.AmendInput(data=request.data)
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        reason = changes.pop("reason")
        trade_services.trade_amend(actor=request.user, trade_id=trade_id, changes=changes, reason=reason)
        return Response(s.TradeDetailOutput(selectors.trade_get(trade_id)).data)


class TradeReleaseApi(APIView):
    permission_classes = [ReleaseRole]

    @extend_schema(
        request=s.CancelInput,
        responses={
            202: OpenApiResponse(ChangeRequestOutput, description=(
                "The release is proposed (maker-checker): the trade stays HELD until a different user with the "
                "operations or compliance role approves it (POST /api/v1/approvals/{id}/approve/); then it is "
                "booked and enters the position.")),
            409: OpenApiResponse(description="The trade is not HELD, or its release is already awaiting approval."),
        },
        description="Propose releasing a trade held by a pre-trade check.")
    def post(self, request, trade_id: int):
        _trade_or_404(trade_id)
        data = s.CancelInput(data=request.data)
        data.is_valid(raise_exception=True)
        change = approvals.change_propose(actor=request.user, kind="trade.release", payload={"trade_id": trade_id},
                                          reason=data.validated_data["reason"])
        return Response(ChangeRequestOutput(change).data, status=status.HTTP_202_ACCEPTED)


class TradeRejectInput(serializers.Serializer):
    reason = StrictCharField(max_length=1000, help_text="Why the held trade is rejected.")


class TradeRejectApi(APIView):
    permission_classes = [ReleaseRole]

    @extend_schema(
        request=TradeRejectInput,
        responses={
            202: OpenApiResponse(ChangeRequestOutput, description=(
                "The rejection is proposed (maker-checker): the trade stays HELD until a different user with the "
                "operations or compliance role approves it (POST /api/v1/approvals/{id}/approve/); then it is "
                "REJECTED and never enters the position.")),
            409: OpenApiResponse(description="The trade is not HELD, or its release or rejection is already "
                                             "awaiting approval."),
        },
        description="Propose rejecting a trade held by a pre-trade check.")
    def post(self, request, trade_id: int):
        _trade_or_404(trade_id)
        data = TradeRejectInput(data=request.data)
        data.is_valid(raise_exception=True)
        change = approvals.change_propose(actor=request.user, kind="trade.reject", payload={"trade_id": trade_id},
                                          reason=data.validated_data["reason"])
        return Response(ChangeRequestOutput(change).data, status=status.HTTP_202_ACCEPTED)
