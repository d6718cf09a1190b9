"""Reference data, prices and the settlement-date API (docs/api-guide.md, "Reference data").

Views parse input, call one service or selector, and shape the output.
"""

from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from backoffice.core.api import validate_items
from backoffice.core.exceptions import BusinessRuleError
from backoffice.core.permissions import HasRole
from backoffice.core.roles import ALL_ROLES, FRONT_OFFICE, OPERATIONS
from records.approvals import services as approvals
from records.approvals.api import ChangeRequestOutput
from records.reference import selectors
from records.reference.api import filters
from records.reference.api import serializers as s
from records.reference.services import calendar, reference

# Every role reads reference data; front office and operations maintain it.
ReferenceData = HasRole(FRONT_OFFICE, OPERATIONS, read=ALL_ROLES)


def _reason(data: dict) -> str:
    return data.pop("reason", "") or ""


# Changes to reference data go through maker-checker (records.approvals.services).
PROPOSED_THROUGH_API = "proposed through the API"


def _propose_update(request, *, kind: str, key: str, value: str, changes: dict) -> Response:
    reason = _reason(changes) or PROPOSED_THROUGH_API
    change = approvals.change_propose(actor=request.user, kind=kind, reason=reason,
                                      payload={key: value, "changes": approvals.to_payload(changes)})
    return Response(ChangeRequestOutput(change).data, status=status.HTTP_202_ACCEPTED)


def _proposed(what: str) -> dict:
    return {
        202: OpenApiResponse(ChangeRequestOutput, description=(
            f"The change to the {what} is proposed, not made: it takes effect when a different user with the "
            "operations role approves it (POST /api/v1/approvals/{id}/approve/).")),
        400: OpenApiResponse(description="Invalid input, a change its service would refuse, or a change that "
                                         "changes nothing."),
        409: OpenApiResponse(description="Conflicts with the current state, or a change to the same record is "
                                         "already awaiting approval."),
    }


def _instrument_or_error(isin: str, field: str = "instrument"):
    instrument = selectors.instrument_get(isin)
    if instrument is None:
        raise BusinessRuleError(f"Unknown instrument {isin!r}.", field=field)
    return instrument


# Instruments ----------------------------------------------------------------------------------

class InstrumentListCreateApi(generics.ListAPIView):
    permission_classes = [ReferenceData]
    serializer_class = s.InstrumentOutput
    filterset_class = filters.InstrumentFilter

    def get_queryset(self):
        return selectors.instrument_list()

    @extend_schema(request=s.InstrumentInput, responses={201: s.InstrumentOutput})
    def post(self, request):
        data = s.InstrumentInput(data=request.data)
        data.is_valid(raise_exception=True)
        instrument = reference.instrument_create(actor=request.user, **data.validated_data)
        return Response(s.InstrumentOutput(instrument).data, status=status.HTTP_201_CREATED)


class InstrumentDetailApi(APIView):
    permission_classes = [ReferenceData]

    def _get(self, isin):
        instrument = selectors.instrument_get(isin)
        if instrument is None:
            raise Http404
        return instrument

    @extend_schema(responses=s.InstrumentOutput)
    def get(self, request, isin):
        return Response(s.InstrumentOutput(self._get(isin)).data)

    @extend_schema(request=s.InstrumentPatch, responses=_proposed("instrument"),
                   description="Propose a change to an instrument (maker-checker); its ISIN never changes.")
    def patch(self, request, isin):
        instrument = self._get(isin)
        data = s.InstrumentPatch(data=request.data)
        data.is_valid(raise_exception=True)
        return _propose_update(request, kind="instrument.update", key="isin", value=instrument.isin,
                               changes=dict(data.validated_data))


class InstrumentLatestPriceApi(APIView):
    permission_classes = [ReferenceData]

    @extend_schema(parameters=[s.LatestPriceQuery], responses=s.PriceOutput)
    def get(self, request, isin):
        query = s.LatestPriceQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        instrument = selectors.instrument_get(isin)
        if instrument is None:
            raise Http404
        as_of = query.validated_data.get("as_of") or timezone.localdate()
        price = selectors.price_latest(instrument=instrument, as_of=as_of)
        if price is None:
            raise Http404(f"No price for {isin} on or before {as_of}.")
        return Response(s.PriceOutput(price).data)


# Accounts -------------------------------------------------------------------------------------

class AccountListCreateApi(generics.ListAPIView):
    permission_classes = [ReferenceData]
    serializer_class = s.AccountOutput
    filterset_class = filters.AccountFilter

    def get_queryset(self):
        return selectors.account_list()

    @extend_schema(request=s.AccountInput, responses={201: s.AccountOutput})
    def post(self, request):
        data = s.AccountInput(data=request.data)
        data.is_valid(raise_exception=True)
        account = reference.account_create(actor=request.user, **data.validated_data)
        return Response(s.AccountOutput(account).data, status=status.HTTP_201_CREATED)


class AccountDetailApi(APIView):
    permission_classes = [ReferenceData]

    def _get(self, code):
        account = selectors.account_get(code)
        if account is None:
            raise Http404
        return account

    @extend_schema(responses=s.AccountOutput)
    def get(self, request, code):
        return Response(s.AccountOutput(self._get(code)).data)

    @extend_schema(request=s.AccountPatch, responses=_proposed("account"),
                   description="Propose a change to an account (maker-checker); its code never changes.")
    def patch(self, request, code):
        account = self._get(code)
        data = s.AccountPatch(data=request.data)
        data.is_valid(raise_exception=True)
        return _propose_update(request, kind="account.update", key="code", value=account.code,
                               changes=dict(data.validated_data))


# Counterparties -------------------------------------------------------------------------------

class CounterpartyListCreateApi(generics.ListAPIView):
    permission_classes = [ReferenceData]
    serializer_class = s.CounterpartyOutput
    filterset_class = filters.CounterpartyFilter

    def get_queryset(self):
        return selectors.counterparty_list()

    @extend_schema(request=s.CounterpartyInput, responses={201: s.CounterpartyOutput})
    def post(self, request):
        data = s.CounterpartyInput(data=request.data)
        data.is_valid(raise_exception=True)
        counterparty = reference.counterparty_create(actor=request.user, **data.validated_data)
        return Response(s.CounterpartyOutput(counterparty).data, status=status.HTTP_201_CREATED)


class CounterpartyDetailApi(APIView):
    permission_classes = [ReferenceData]

    def _get(self, code):
        counterparty = selectors.counterparty_get(code)
        if counterparty is None:
            raise Http404
        return counterparty

    @extend_schema(responses=s.CounterpartyOutput)
    def get(self, request, code):
        return Response(s.CounterpartyOutput(self._get(code)).data)

    @extend_schema(request=s.CounterpartyPatch, responses=_proposed("counterparty"),
                   description="Propose a change to a counterparty (maker-checker); its code never changes.")
    def patch(self, request, code):
        counterparty = self._get(code)
        data = s.CounterpartyPatch(data=request.data)
        data.is_valid(raise_exception=True)
        return _propose_update(request, kind="counterparty.update", key="code", value=counterparty.code,
                               changes=dict(data.validated_data))


class MarketListApi(generics.ListAPIView):
    permission_classes = [ReferenceData]
    serializer_class = s.MarketOutput

    def get_queryset(self):
        return selectors.market_list()


# Prices ---------------------------------------------------------------------------------------

_PRICE_REF = {"$ref": "#/components/schemas/PriceOutput"}
_ONE_OR_MANY_PRICES = {"oneOf": [_PRICE_REF, {"type": "array", "items": _PRICE_REF}]}


class PriceListUpsertApi(generics.ListAPIView):
    """Prices: list, and upsert one object or a list per (instrument, price_date, source)."""

    permission_classes = [ReferenceData]
    serializer_class = s.PriceOutput
    filterset_class = filters.PriceFilter

    def get_queryset(self):
        return selectors.price_list()

    @extend_schema(
        request=s.PriceInput(many=True),
        responses={
            201: OpenApiResponse(_ONE_OR_MANY_PRICES, description="At least one price was created. "
                                 "A single object in gives a single object out; a list gives a list."),
            200: OpenApiResponse(_ONE_OR_MANY_PRICES, description="Every price existed: updated or unchanged."),
        },
        description="Body: one price object or a list of them (up to 10,000). All or nothing.",
    )
    def post(self, request):
        many = isinstance(request.data, list)
        if many and len(request.data) > 10_000:
            raise BusinessRuleError("At most 10000 prices per request.")
        if many and not request.data:
            raise BusinessRuleError("Give at least one price.")
        items, errors = validate_items(s.PriceInput, request.data if many else [request.data])
        isins = [item["instrument"] for item in items if item]
        instruments = selectors.instruments_by_isin(isins)
        inputs = []
        for item, item_errors in zip(items, errors, strict=True):
            if item is None:
                continue
            instrument = instruments.get(item["instrument"])
            if instrument is None:
                item_errors["instrument"] = [f"Unknown instrument {item['instrument']!r}."]
                continue
            inputs.append(reference.PriceInput(instrument=instrument, price_date=item["price_date"],
                                               price=item["price"], currency=item.get("currency")
                                               or instrument.currency, source=item["source"]))
        if any(errors):
            return Response(errors if many else errors[0], status=status.HTTP_400_BAD_REQUEST)
        result = reference.price_upsert(actor=request.user, prices=inputs)
        by_key = {(p.instrument_id, p.price_date, p.source): p for p in result.created + result.updated}
        rows = [by_key[(i.instrument.pk, i.price_date, i.source)] for i in inputs]
        body = s.PriceOutput(rows, many=True).data if many else s.PriceOutput(rows[0]).data
        return Response(body, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)


class FxRateUpsertApi(APIView):
    permission_classes = [ReferenceData]

    @extend_schema(request=s.FxRateSerializer, responses=s.FxRateSerializer)
    def post(self, request):
        data = s.FxRateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        rate = reference.fx_rate_upsert(actor=request.user, **data.validated_data)
        return Response(s.FxRateSerializer(rate).data)


# Settlement date ------------------------------------------------------------------------------

class SettlementDateApi(APIView):
    permission_classes = [ReferenceData]

    @extend_schema(parameters=[s.SettlementDateQuery], responses=s.SettlementDateOutput)
    def get(self, request):
        query = s.SettlementDateQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        instrument = _instrument_or_error(query.validated_data["instrument"])
        result = calendar.settlement_date_for(instrument=instrument, trade_date=query.validated_data["trade_date"])
        return Response(s.SettlementDateOutput(result).data)
