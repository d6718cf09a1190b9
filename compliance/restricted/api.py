"""The API of the restricted list (included by compliance/api_urls.py): API.md "Compliance".

GET and POST /api/v1/compliance/restricted-list/, GET and DELETE .../{id}/ (DELETE ends the entry: it is
never deleted; compliance/restricted/services.py says how). Compliance writes (superusers too);
operations and accounting read; front office is refused. Thin: parse, call one service or selector, shape.
"""

import django_filters
from django.http import Http404
from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from backoffice.core.api import StrictDateFilter
from backoffice.core.fields import StrictCharField, StrictDateField
from backoffice.core.permissions import HasRole
from backoffice.core.roles import ACCOUNTING, COMPLIANCE, OPERATIONS
from compliance.restricted import selectors, services
from compliance.restricted.models import RestrictedInstrument
from records.reference import selectors as reference_selectors

RestrictedRole = HasRole(COMPLIANCE, read=(COMPLIANCE, OPERATIONS, ACCOUNTING))


def _only(data, allowed: tuple[str, ...]) -> dict:
    """The body as an object with only the allowed fields, else a 400 naming the first other one."""
    if not isinstance(data, dict):
        raise ValidationError({"non_field_errors": ["Expected a JSON object."]})
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ValidationError({unknown[0]: [f"Unknown field; expected one of {', '.join(allowed)}."]})
    return data


class RestrictedOutput(serializers.Serializer):
    id = serializers.IntegerField()
    instrument = serializers.CharField(source="instrument.isin", help_text="ISIN")
    instrument_name = serializers.CharField(source="instrument.name")
    reason = serializers.CharField(help_text="Shown with every trade the entry refuses.")
    effective_from = serializers.DateField(help_text="The first trade date restricted.")
    effective_to = serializers.DateField(allow_null=True, help_text="The last trade date restricted; null: until "
                                                                    "ended.")
    withdrawn = serializers.BooleanField(help_text="Ended before it started: it never restricted anything.")
    created_by = serializers.CharField(source="created_by.username", allow_null=True, default=None)
    created_at = serializers.DateTimeField()
    ended_by = serializers.CharField(source="ended_by.username", allow_null=True, default=None)
    ended_at = serializers.DateTimeField(allow_null=True)
    end_reason = serializers.CharField()


class RestrictedInput(serializers.Serializer):
    instrument = StrictCharField(max_length=12, help_text="ISIN")
    reason = StrictCharField(max_length=services.REASON_MAX_LENGTH, help_text="Why it is restricted.")
    effective_from = StrictDateField(help_text="The first trade date restricted.")
    effective_to = StrictDateField(allow_null=True, required=False, default=None,
                                   help_text="The last trade date restricted; null or absent: until ended.")

    def validate_instrument(self, value):
        instrument = reference_selectors.instrument_get(value) if value.isprintable() else None
        if instrument is None:
            raise serializers.ValidationError(f"Unknown instrument {value!r} (give its ISIN).")
        return instrument

    def validate(self, attrs):
        if attrs.get("effective_to") is not None and attrs["effective_to"] < attrs["effective_from"]:
            raise serializers.ValidationError({"effective_to": ["Must not be before effective_from."]})
        return attrs


class RestrictedEndInput(serializers.Serializer):
    reason = StrictCharField(max_length=services.REASON_MAX_LENGTH, required=False, allow_blank=True, default="",
                             help_text="Why it ends: kept on the entry and in the audit trail.")


class RestrictedFilter(django_filters.FilterSet):
    instrument = django_filters.CharFilter(field_name="instrument__isin", help_text="ISIN")
    active_on = StrictDateFilter(method="_active_on", help_text="Only the entries restricting trades dated this day.")

    class Meta:
        model = RestrictedInstrument
        fields = ["instrument", "active_on"]

    def _active_on(self, queryset, name, value):
        return queryset.filter(selectors.restricted_effective_on(value))


def _entry_or_404(entry_id: int) -> RestrictedInstrument:
    entry = selectors.restricted_get(entry_id)
    if entry is None:
        raise Http404
    return entry


class RestrictedListApi(generics.ListAPIView):
    permission_classes = [RestrictedRole]
    serializer_class = RestrictedOutput
    filterset_class = RestrictedFilter

    def get_queryset(self):
        return selectors.restricted_list()

    @extend_schema(description="The restricted list, latest start first: ended and withdrawn entries included "
                               "(?active_on= for those in effect on a day).")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(request=RestrictedInput, responses={
        201: RestrictedOutput,
        400: OpenApiResponse(description="An unknown ISIN, a malformed date, effective_to before effective_from, "
                                         "a blank or too long reason.")},
        description="Put an instrument on the restricted list: from effective_from on, every trade (and amendment) "
                    "dated in the range is refused under \"compliance\" with the reason. Takes effect at once; "
                    "audited.")
    def post(self, request):
        data = RestrictedInput(data=_only(request.data, tuple(RestrictedInput().fields)))
        data.is_valid(raise_exception=True)
        entry = services.restricted_create(actor=request.user, **data.validated_data)
        return Response(RestrictedOutput(_entry_or_404(entry.pk)).data, status=status.HTTP_201_CREATED)


class RestrictedDetailApi(generics.GenericAPIView):
    permission_classes = [RestrictedRole]
    serializer_class = RestrictedOutput

    @extend_schema(description="One restricted-list entry.")
    def get(self, request, entry_id: int):
        return Response(RestrictedOutput(_entry_or_404(entry_id)).data)

    @extend_schema(request=RestrictedEndInput, responses={
        200: RestrictedOutput,
        409: OpenApiResponse(description="The entry has already ended (ended, withdrawn, or its last day is past).")},
        description="End an entry from today on; it is kept, with who ended it, when and why (audited). One that "
                    "had started restricts until yesterday (effective_to becomes yesterday); one starting today or "
                    "later is withdrawn and never restricts. The body and its reason are optional.")
    def delete(self, request, entry_id: int):
        entry = _entry_or_404(entry_id)
        data = RestrictedEndInput(data=_only(request.data or {}, ("reason",)))
        data.is_valid(raise_exception=True)
        services.restricted_end(actor=request.user, entry_id=entry.pk, reason=data.validated_data["reason"])
        return Response(RestrictedOutput(_entry_or_404(entry.pk)).data)


urlpatterns = [
    path("compliance/restricted-list/", RestrictedListApi.as_view(), name="api-compliance-restricted-list"),
    path("compliance/restricted-list/<int:entry_id>/", RestrictedDetailApi.as_view(),
         name="api-compliance-restricted-entry"),
]
