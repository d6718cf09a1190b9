"""The API of locates, borrows and the Reg SHO penalty box (included by compliance/api_urls.py).

GET and POST /api/v1/compliance/locates/, GET and DELETE .../{id}/ (DELETE ends it: it is never deleted;
compliance/shorts/services.py says how). Compliance and operations (the stock-loan desk) write; accounting
and front office read (a trader checks his locate).
GET /api/v1/compliance/penalty-box/ and POST .../{id}/release/: compliance releases; operations, accounting
and front office read. Thin: parse, call one service or selector, shape.
"""

import django_filters
from django.http import Http404
from django.urls import path
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from backoffice.core.api import StrictDateFilter
from backoffice.core.fields import QUANTITY, DecimalOut, StrictCharField, StrictDateField, StrictDecimalField
from backoffice.core.permissions import HasRole
from backoffice.core.roles import ACCOUNTING, COMPLIANCE, FRONT_OFFICE, OPERATIONS
from compliance.shorts import selectors, services
from compliance.shorts.models import Locate, PenaltyBoxEntry
from records.reference import selectors as reference_selectors

LocateRole = HasRole(COMPLIANCE, OPERATIONS, read=(COMPLIANCE, OPERATIONS, ACCOUNTING, FRONT_OFFICE))
PenaltyBoxRole = HasRole(COMPLIANCE, read=(COMPLIANCE, OPERATIONS, ACCOUNTING, FRONT_OFFICE))


def _only(data, allowed: tuple[str, ...]) -> dict:
    """The body as an object with only the allowed fields, else a 400 naming the first other one."""
    if not isinstance(data, dict):
        raise ValidationError({"non_field_errors": ["Expected a JSON object."]})
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ValidationError({unknown[0]: [f"Unknown field; expected one of {', '.join(allowed)}."]})
    return data


# Locates and borrows ------------------------------------------------------------------------------

class LocateOutput(serializers.Serializer):
    id = serializers.IntegerField()
    account = serializers.CharField(source="account.code")
    instrument = serializers.CharField(source="instrument.isin", help_text="ISIN")
    instrument_name = serializers.CharField(source="instrument.name")
    kind = serializers.ChoiceField(choices=Locate.Kind.choices)
    quantity = DecimalOut(QUANTITY)
    source = serializers.CharField(help_text="Who located or lent the shares.")
    reference = serializers.CharField(help_text="The lender's or desk's reference (unique).")
    valid_from = serializers.DateField(help_text="The first trade date covered.")
    valid_to = serializers.DateField(allow_null=True, help_text="The last trade date covered; null: a borrow "
                                                                "until returned.")
    state = serializers.SerializerMethodField(help_text="As of today: ACTIVE (covers today), FUTURE, ENDED "
                                                        "(past its last day), WITHDRAWN (ended before it started).")
    created_by = serializers.CharField(source="created_by.username", allow_null=True, default=None)
    created_at = serializers.DateTimeField()
    ended_by = serializers.CharField(source="ended_by.username", allow_null=True, default=None)
    ended_at = serializers.DateTimeField(allow_null=True)
    end_reason = serializers.CharField()

    def get_state(self, locate) -> str:
        return selectors.locate_state(locate, timezone.localdate())


class LocateInput(serializers.Serializer):
    account = StrictCharField(max_length=40, help_text="Account code")
    instrument = StrictCharField(max_length=12, help_text="ISIN")
    kind = serializers.ChoiceField(choices=Locate.Kind.choices, help_text="LOCATE (good for its days) or BORROW "
                                                                          "(until returned)")
    quantity = StrictDecimalField(kind=QUANTITY, positive=True, help_text="Shares located or borrowed.")
    source = StrictCharField(max_length=services.SOURCE_MAX_LENGTH, help_text="Who located or lent the shares.")
    reference = StrictCharField(max_length=services.REFERENCE_MAX_LENGTH, help_text="The lender's or desk's "
                                                                                    "reference; unique.")
    valid_from = StrictDateField(help_text="The first trade date covered.")
    valid_to = StrictDateField(allow_null=True, required=False, default=None,
                               help_text="The last trade date covered; absent: the same day for a LOCATE, until "
                                         "returned for a BORROW.")

    def validate_account(self, value):
        account = reference_selectors.account_get(value)
        if account is None:
            raise serializers.ValidationError(f"Unknown account {value!r}.")
        return account

    def validate_instrument(self, value):
        instrument = reference_selectors.instrument_get(value)
        if instrument is None:
            raise serializers.ValidationError(f"Unknown instrument {value!r} (give its ISIN).")
        return instrument

    def validate(self, attrs):
        if attrs.get("valid_to") is not None and attrs["valid_to"] < attrs["valid_from"]:
            raise serializers.ValidationError({"valid_to": ["Must not be before valid_from."]})
        return attrs


class EndInput(serializers.Serializer):
    reason = StrictCharField(max_length=services.REASON_MAX_LENGTH, required=False, allow_blank=True, default="",
                             help_text="Why it ends (returned, recalled, withdrawn): kept on it and in the audit "
                                       "trail.")


class LocateFilter(django_filters.FilterSet):
    account = django_filters.CharFilter(field_name="account__code", help_text="Account code")
    instrument = django_filters.CharFilter(field_name="instrument__isin", help_text="ISIN")
    kind = django_filters.ChoiceFilter(choices=Locate.Kind.choices)
    active_on = StrictDateFilter(method="_active_on", help_text="Only those covering short sales dated this day.")

    class Meta:
        model = Locate
        fields = ["account", "instrument", "kind", "active_on"]

    def _active_on(self, queryset, name, value):
        return queryset.filter(selectors.locate_in_force_on(value))


def _locate_or_404(locate_id: int) -> Locate:
    locate = selectors.locate_get(locate_id)
    if locate is None:
        raise Http404
    return locate


class LocateListApi(generics.ListAPIView):
    permission_classes = [LocateRole]
    serializer_class = LocateOutput
    filterset_class = LocateFilter

    def get_queryset(self):
        return selectors.locate_list()

    @extend_schema(description="Locates and borrows, latest start first, ended and withdrawn ones included "
                               "(?active_on= for those covering a trade date).")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(request=LocateInput, responses={
        201: LocateOutput,
        400: OpenApiResponse(description="An unknown account or ISIN, an unknown kind, a quantity not above zero, "
                                         "a malformed date, valid_to before valid_from, a blank source or "
                                         "reference."),
        409: OpenApiResponse(description="The reference is already recorded.")},
        description="Record a locate or a borrow for an account's short sales in an instrument. Pre-trade checks "
                    "count it at once for short sales dated in its range; audited.")
    def post(self, request):
        data = LocateInput(data=_only(request.data, tuple(LocateInput().fields)))
        data.is_valid(raise_exception=True)
        locate = services.locate_create(actor=request.user, **data.validated_data)
        return Response(LocateOutput(_locate_or_404(locate.pk)).data, status=status.HTTP_201_CREATED)


class LocateDetailApi(generics.GenericAPIView):
    permission_classes = [LocateRole]
    serializer_class = LocateOutput

    @extend_schema(description="One locate or borrow.")
    def get(self, request, locate_id: int):
        return Response(LocateOutput(_locate_or_404(locate_id)).data)

    @extend_schema(request=EndInput, responses={
        200: LocateOutput,
        409: OpenApiResponse(description="Already over (ended, withdrawn, or its last day is past).")},
        description="End a locate or borrow from today on (a borrow returned, a locate withdrawn); it is kept, "
                    "with who ended it, when and why (audited). One that had started covers until yesterday "
                    "(valid_to becomes yesterday); one starting today or later is withdrawn and covers nothing. "
                    "The body and its reason are optional.")
    def delete(self, request, locate_id: int):
        locate = _locate_or_404(locate_id)
        # No body is no reason; a body that is not an object (a list, even empty) is a 400.
        body = request.data if request.data or isinstance(request.data, list) else {}
        data = EndInput(data=_only(body, ("reason",)))
        data.is_valid(raise_exception=True)
        services.locate_end(actor=request.user, locate_id=locate.pk, reason=data.validated_data["reason"])
        return Response(LocateOutput(_locate_or_404(locate.pk)).data)


# The penalty box ----------------------------------------------------------------------------------

class PenaltyBoxOutput(serializers.Serializer):
    id = serializers.IntegerField()
    account = serializers.CharField(source="account.code")
    instrument = serializers.CharField(source="instrument.isin", help_text="ISIN")
    instrument_name = serializers.CharField(source="instrument.name")
    fail_id = serializers.IntegerField(help_text="The fail to deliver that missed its close-out deadline.")
    close_out_deadline = serializers.DateField()
    since = serializers.DateField(help_text="The day surveillance found the deadline missed.")
    reason = serializers.CharField()
    open = serializers.SerializerMethodField(help_text="In force: short sales need a pre-borrow (a BORROW).")
    released_on = serializers.DateField(allow_null=True)
    released_by = serializers.CharField(source="released_by.username", allow_null=True, default=None)
    release_reason = serializers.CharField()

    def get_open(self, entry) -> bool:
        return entry.released_on is None


class ReleaseInput(serializers.Serializer):
    reason = StrictCharField(max_length=services.REASON_MAX_LENGTH, help_text="Why the account is released.")


class PenaltyBoxFilter(django_filters.FilterSet):
    account = django_filters.CharFilter(field_name="account__code", help_text="Account code")
    instrument = django_filters.CharFilter(field_name="instrument__isin", help_text="ISIN")
    open = django_filters.BooleanFilter(field_name="released_on", lookup_expr="isnull",
                                        help_text="true: in force; false: released.")

    class Meta:
        model = PenaltyBoxEntry
        fields = ["account", "instrument", "open"]


def _entry_or_404(entry_id: int) -> PenaltyBoxEntry:
    entry = selectors.penalty_box_get(entry_id)
    if entry is None:
        raise Http404
    return entry


class PenaltyBoxListApi(generics.ListAPIView):
    permission_classes = [PenaltyBoxRole]
    serializer_class = PenaltyBoxOutput
    filterset_class = PenaltyBoxFilter

    def get_queryset(self):
        return selectors.penalty_box_list()

    @extend_schema(description="Accounts put in the Reg SHO penalty box (Rule 204(b)) per instrument by a fail "
                               "past its close-out deadline, latest first (?open=true for those in force).")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class PenaltyBoxReleaseApi(generics.GenericAPIView):
    permission_classes = [PenaltyBoxRole]
    serializer_class = PenaltyBoxOutput

    @extend_schema(request=ReleaseInput, responses={
        200: PenaltyBoxOutput,
        400: OpenApiResponse(description="A blank, too long or non-printable reason."),
        409: OpenApiResponse(description="Already released.")},
        description="Release an account from the penalty box for an instrument, today (compliance): its short "
                    "sales there no longer need a pre-borrow. Audited.")
    def post(self, request, entry_id: int):
        entry = _entry_or_404(entry_id)
        data = ReleaseInput(data=_only(request.data, ("reason",)))
        data.is_valid(raise_exception=True)
        services.penalty_box_release(actor=request.user, entry_id=entry.pk, reason=data.validated_data["reason"])
        return Response(PenaltyBoxOutput(_entry_or_404(entry.pk)).data)


urlpatterns = [
    path("compliance/locates/", LocateListApi.as_view(), name="api-compliance-locates"),
    path("compliance/locates/<int:locate_id>/", LocateDetailApi.as_view(), name="api-compliance-locate"),
    path("compliance/penalty-box/", PenaltyBoxListApi.as_view(), name="api-compliance-penalty-box"),
    path("compliance/penalty-box/<int:entry_id>/release/", PenaltyBoxReleaseApi.as_view(),
         name="api-compliance-penalty-box-release"),
]
