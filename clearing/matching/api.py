"""The API of clearing's matching (API.md "Clearing"; docs/api-guide.md): confirmations and their breaks. Thin.

- POST /api/v1/confirmations/: one confirmation (201, 200 when sent before, 409 when its reference
  was used for other terms, 400) or a list of up to 10,000 (200 with a result per item; a list with
  a malformed item is refused whole, 400 with the errors per item);
- GET /api/v1/confirmations/ and /{id}/;
- POST /api/v1/confirmations/{id}/resolve/: force_match (202, a maker-checker proposal), reject or
  request_new (200);
- POST /api/v1/confirmations/match/: match every open confirmation again, as a batch job (202).
"""

import django_filters
from django.http import Http404
from django.urls import path
from drf_spectacular.utils import OpenApiResponse, PolymorphicProxySerializer, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from backoffice.core.api import StrictDateFilter
from backoffice.core.fields import PRICE, QUANTITY, StrictCharField, StrictDateField, StrictDecimalField
from backoffice.core.jobs.api import JobOutput
from backoffice.core.jobs.services import job_start
from backoffice.core.permissions import HasRole
from backoffice.core.roles import ACCOUNTING, COMPLIANCE, FRONT_OFFICE, OPERATIONS
from clearing.matching import selectors
from clearing.matching.input import parse_confirmation
from clearing.matching.jobs import MATCHING
from clearing.matching.services import breaks
from clearing.matching.services import confirmations as services
from clearing.models import Confirmation
from records.approvals.api import ChangeRequestOutput

MAX_BATCH = 10_000
MAX_ID = 2**63 - 1

Submitters = HasRole(FRONT_OFFICE, OPERATIONS)
Readers = HasRole(OPERATIONS, COMPLIANCE, ACCOUNTING)
Resolvers = HasRole(OPERATIONS)


def _enum(name: str, values) -> type[serializers.CharField]:
    """A text field documented with its values inline: "match_status" and "status" name other value sets
    elsewhere in the schema (a trade's match status), which drf-spectacular would merge into one enum."""
    return extend_schema_field({"type": "string", "enum": list(values)})(type(name, (serializers.CharField,), {}))


ItemStatusField = _enum("ItemStatusField", ["created", "duplicate", "rejected", "conflict"])


class ConfirmationInputSchema(serializers.Serializer):
    """A confirmation body, for the OpenAPI schema. The endpoint parses it with
    clearing.matching.input.parse_confirmation, on the same rules (backoffice.core.fields)."""

    counterparty = StrictCharField(max_length=30, help_text="Counterparty code (who confirms).")
    counterparty_ref = StrictCharField(max_length=64, help_text="Their reference: idempotency key per counterparty.")
    account = StrictCharField(max_length=30, help_text="Account code.")
    instrument = StrictCharField(max_length=12, help_text="ISIN.")
    side = serializers.ChoiceField(choices=Confirmation._meta.get_field("side").choices,
                                   help_text="The counterparty's side: their SELL confirms our BUY.")
    quantity = StrictDecimalField(kind=QUANTITY, positive=True)
    price = StrictDecimalField(kind=PRICE, positive=True)
    trade_date = StrictDateField()
    settlement_date = StrictDateField()
    trade_ref = StrictCharField(max_length=64, required=False, allow_null=True, allow_blank=True,
                                help_text="Our trade's external_ref, when they quote it: then only that trade "
                                          "can match.")


class MismatchOutput(serializers.Serializer):
    field = serializers.CharField(help_text="account, instrument, side, quantity, price, trade_date or "
                                            "settlement_date.")
    ours = serializers.CharField(help_text="Our trade's value.")
    theirs = serializers.CharField(help_text="The confirmation's value (their side as they sent it).")


@extend_schema_field(serializers.IntegerField(allow_null=True, help_text="Days since received; null once resolved "
                                                                          "or matched."))
class AgeField(serializers.Field):
    def __init__(self, **kwargs):
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, confirmation):
        if confirmation.match_status not in selectors.OPEN_STATUSES:
            return None
        return selectors.age_days(confirmation.received_at)


class ConfirmationOutput(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    counterparty = serializers.CharField(source="counterparty.code")
    counterparty_ref = serializers.CharField()
    account = serializers.CharField(source="account.code")
    instrument = serializers.CharField(source="instrument.isin")
    side = serializers.CharField(help_text="The counterparty's side.")
    quantity = StrictDecimalField(kind=QUANTITY)
    price = StrictDecimalField(kind=PRICE)
    trade_date = serializers.DateField()
    settlement_date = serializers.DateField()
    trade_ref = serializers.CharField(help_text="Our trade reference they quoted, or empty.")
    match_status = serializers.ChoiceField(choices=Confirmation.MatchStatus.choices)
    trade = serializers.IntegerField(source="trade_id", allow_null=True, help_text=(
        "MATCHED: the trade it confirms. MISMATCHED: the closest candidate, compared in mismatches. Else null."))
    mismatches = MismatchOutput(many=True)
    age_days = AgeField()
    source = serializers.ChoiceField(choices=Confirmation.Source.choices)
    submitted_by = serializers.CharField(source="submitted_by.get_username")
    received_at = serializers.DateTimeField()
    matched_at = serializers.DateTimeField(allow_null=True)
    resolution = serializers.CharField(help_text="FORCE_MATCHED, REJECTED, NEW_REQUESTED, or empty.")
    resolution_reason = serializers.CharField()
    resolved_by = serializers.CharField(source="resolved_by.get_username", allow_null=True, default=None)
    resolved_at = serializers.DateTimeField(allow_null=True)


class BatchItemResult(serializers.Serializer):
    index = serializers.IntegerField()
    status = ItemStatusField()
    id = serializers.IntegerField(required=False, help_text="The confirmation (created or duplicate).")
    match_status = serializers.ChoiceField(choices=Confirmation.MatchStatus.choices, required=False)
    trade = serializers.IntegerField(required=False, allow_null=True)
    errors = serializers.DictField(required=False, help_text="Field messages, for rejected and conflict items.")


class BatchOutput(serializers.Serializer):
    created = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    rejected = serializers.IntegerField()
    conflicts = serializers.IntegerField()
    results = BatchItemResult(many=True)


_ONE_OR_MANY = PolymorphicProxySerializer(
    component_name="ConfirmationOneOrMany", resource_type_field_name=None, many=False,
    serializers=[ConfirmationInputSchema, ConfirmationInputSchema(many=True, min_length=1, max_length=MAX_BATCH)])


class ConfirmationFilter(django_filters.FilterSet):
    match_status = django_filters.ChoiceFilter(choices=Confirmation.MatchStatus.choices)
    counterparty = django_filters.CharFilter(field_name="counterparty__code", help_text="Counterparty code.")
    account = django_filters.CharFilter(field_name="account__code", help_text="Account code.")
    instrument = django_filters.CharFilter(field_name="instrument__isin", help_text="ISIN.")
    counterparty_ref = django_filters.CharFilter()
    trade_date = StrictDateFilter()

    class Meta:
        model = Confirmation
        fields = ["match_status", "counterparty", "account", "instrument", "counterparty_ref", "trade_date"]


def _item_result(result: services.ConfirmationResult) -> dict:
    if result.status in (services.CREATED, services.DUPLICATE):
        return {"index": result.index, "status": result.status, "id": result.confirmation_id,
                "match_status": result.match_status, "trade": result.trade_id}
    return {"index": result.index, "status": result.status, "errors": result.errors}


class ConfirmationListCreateApi(generics.ListAPIView):
    serializer_class = ConfirmationOutput
    filterset_class = ConfirmationFilter

    def get_permissions(self):
        return [Submitters() if self.request.method == "POST" else Readers()]

    def get_queryset(self):
        return selectors.confirmation_list()

    @extend_schema(description="Confirmations, newest first. Operations, compliance and accounting.")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=_ONE_OR_MANY,
        responses={
            201: OpenApiResponse(ConfirmationOutput, description="Received, and matched at once when it can be: "
                                 "match_status and trade say how."),
            200: OpenApiResponse(PolymorphicProxySerializer(
                component_name="ConfirmationOrBatch", serializers=[ConfirmationOutput, BatchOutput],
                resource_type_field_name=None), description=(
                "One object: it was received before with the same terms (its reference), nothing stored. A list: "
                "a result per item, in order (created, duplicate, rejected with errors, conflict).")),
            409: OpenApiResponse(description="One object whose counterparty_ref was used for other terms."),
            413: OpenApiResponse(description="More than 10,000 confirmations."),
        },
        description=("Receive a counterparty's confirmation (their side), or a list of up to 10,000. Idempotent by "
                     "(counterparty, counterparty_ref). Unknown references (counterparty, account, instrument, "
                     "trade_ref) answer 400 for one object and a rejected item in a list; a list with a malformed "
                     "item (a missing field, a decimal with too many places) is refused whole, 400 with a message "
                     "object per item ({} for the good ones)."))
    def post(self, request):
        body = request.data
        many = isinstance(body, list)
        if many and len(body) > MAX_BATCH:
            return Response({"detail": f"At most {MAX_BATCH} confirmations per request; got {len(body)}."},
                            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        if many and not body:
            raise ValidationError({"non_field_errors": ["Give at least one confirmation."]})
        parsed, errors = [], []
        for index, raw in enumerate(body if many else [body]):
            item, item_errors = parse_confirmation(raw)
            errors.append(item_errors)
            if item is not None:
                parsed.append((index, item))
        if any(errors):
            return Response(errors if many else errors[0], status=status.HTTP_400_BAD_REQUEST)
        results = services.confirmation_submit_batch(submitted_by=request.user, items=parsed)
        if many:
            ordered = [_item_result(results[index]) for index in range(len(body))]
            counts = {name: sum(r["status"] == name for r in ordered)
                      for name in ("created", "duplicate", "rejected", "conflict")}
            return Response({"created": counts["created"], "duplicates": counts["duplicate"],
                             "rejected": counts["rejected"], "conflicts": counts["conflict"], "results": ordered})
        result = results[0]
        if result.status == services.CONFLICT:
            return Response({"detail": result.errors["counterparty_ref"][0]}, status=status.HTTP_409_CONFLICT)
        if result.status == services.REJECTED:
            raise ValidationError(result.errors)
        code = status.HTTP_201_CREATED if result.status == services.CREATED else status.HTTP_200_OK
        return Response(ConfirmationOutput(selectors.confirmation_get(result.confirmation_id)).data, status=code)


def _confirmation_or_404(confirmation_id: int) -> Confirmation:
    confirmation = selectors.confirmation_get(confirmation_id)
    if confirmation is None:
        raise Http404
    return confirmation


class ConfirmationDetailApi(APIView):
    permission_classes = [Readers]

    @extend_schema(responses=ConfirmationOutput)
    def get(self, request, confirmation_id: int):
        return Response(ConfirmationOutput(_confirmation_or_404(confirmation_id)).data)


class ResolveInput(serializers.Serializer):
    action = serializers.ChoiceField(choices=breaks.ACTIONS, help_text=(
        "force_match: propose matching it to `trade` despite the differences (maker-checker); reject: the "
        "confirmation is wrong; request_new: ask the counterparty for a new one (they resend under a new ref)."))
    reason = serializers.CharField(max_length=1000)
    trade = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False, allow_null=True,
                                     help_text="The trade id, for force_match.")


class ConfirmationResolveApi(APIView):
    permission_classes = [Resolvers]

    @extend_schema(
        request=ResolveInput,
        responses={
            202: OpenApiResponse(ChangeRequestOutput, description=(
                "force_match is proposed (maker-checker): nothing changes until a different operations user "
                "approves it (POST /api/v1/approvals/{id}/approve/); then the confirmation is MATCHED to the "
                "trade (resolution FORCE_MATCHED) and the trade affirmed.")),
            200: OpenApiResponse(ConfirmationOutput, description="reject or request_new: the confirmation, "
                                                                 "REJECTED."),
            409: OpenApiResponse(description="The confirmation is no longer open (matched or rejected), a "
                                             "force-match of it awaits approval, or the trade is matched."),
        },
        description="Resolve a break (an UNMATCHED or MISMATCHED confirmation) with a reason. Operations.")
    def post(self, request, confirmation_id: int):
        _confirmation_or_404(confirmation_id)
        data = ResolveInput(data=request.data)
        data.is_valid(raise_exception=True)
        resolution = breaks.confirmation_resolve(
            actor=request.user, confirmation_id=confirmation_id, action=data.validated_data["action"],
            reason=data.validated_data["reason"], trade_id=data.validated_data.get("trade"))
        if resolution.change is not None:
            return Response(ChangeRequestOutput(resolution.change).data, status=status.HTTP_202_ACCEPTED)
        return Response(ConfirmationOutput(selectors.confirmation_get(confirmation_id)).data)


class ConfirmationMatchApi(APIView):
    permission_classes = [Resolvers]

    @extend_schema(request=None, responses={202: JobOutput}, description=(
        "Match every open confirmation again, as a batch job (kind clearing-match); follow it at "
        "/api/v1/jobs/{id}/. Operations."))
    def post(self, request):
        job = job_start(kind=MATCHING, started_by=request.user)
        return Response(JobOutput(job, context={"request": request}).data, status=status.HTTP_202_ACCEPTED)


urlpatterns = [
    path("confirmations/", ConfirmationListCreateApi.as_view(), name="api-confirmations"),
    path("confirmations/match/", ConfirmationMatchApi.as_view(), name="api-confirmations-match"),
    path("confirmations/<int:confirmation_id>/", ConfirmationDetailApi.as_view(), name="api-confirmation"),
    path("confirmations/<int:confirmation_id>/resolve/", ConfirmationResolveApi.as_view(),
         name="api-confirmation-resolve"),
]
