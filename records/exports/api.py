"""Books-and-records exports over the API: streamed CSV per date range, and the signed daily manifests.

* ``GET /api/v1/records/exports/{kind}.csv?date_from=&date_to=``: kind is trades, positions, cash or audit;
  the CSV is streamed; 400 for a bad or reversed range or one over 366 days; 404 for another kind.
* ``GET /api/v1/records/manifests/?business_date=``: the manifests, newest first.
* ``POST /api/v1/records/manifests/`` ``{business_date, date_from?, date_to?}``: 202, queued to a worker
  (poll the list); 200 with the manifest when the date has one already; 409 if that one covers another range.
"""

import logging

import django_filters
from django.http import Http404, StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.exceptions import APIException
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from backoffice.core.api import StrictDateFilter
from backoffice.core.exceptions import BusinessRuleError, ConflictError
from backoffice.core.fields import StrictDateField
from backoffice.core.permissions import HasRole
from backoffice.core.roles import ACCOUNTING, COMPLIANCE, OPERATIONS
from records.exports import selectors
from records.exports import services as exports
from records.exports.models import ExportManifest
from records.exports.tasks import daily_exports_task

ExportRole = HasRole(OPERATIONS, COMPLIANCE, ACCOUNTING)

logger = logging.getLogger(__name__)


class BrokerUnavailable(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The task queue cannot take the job now: nothing was queued. Try again shortly."
    default_code = "broker_unavailable"


class CSVRenderer(BaseRenderer):
    """Lets a client ask for text/csv; the CSV itself is streamed by the view, never rendered here."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data if isinstance(data, bytes | str) else b""


class ExportRangeQuery(serializers.Serializer):
    date_from = StrictDateField(help_text="First day, inclusive.")
    date_to = StrictDateField(help_text=f"Last day, inclusive; at most {exports.MAX_RANGE_DAYS} days in all. "
                                              "The stock record (positions) is as of this day.")

    def validate(self, attrs):
        try:
            exports.export_range_check(attrs["date_from"], attrs["date_to"])
        except BusinessRuleError as exc:
            raise serializers.ValidationError(exc.as_dict()) from exc
        return attrs


class ExportCsvApi(APIView):
    permission_classes = [ExportRole]
    renderer_classes = [JSONRenderer, CSVRenderer]

    @extend_schema(
        operation_id="records_export_csv",
        parameters=[ExportRangeQuery, OpenApiParameter("kind", OpenApiTypes.STR, OpenApiParameter.PATH,
                                                       enum=["trades", "positions", "cash", "audit"],
                                                       description="trades: the trade blotter by trade date; "
                                                                   "positions: the stock record as of date_to; "
                                                                   "cash: cash movements by value date; "
                                                                   "audit: the audit trail by time."),
                    OpenApiParameter("format", exclude=True)],
        responses={(200, "text/csv"): OpenApiResponse(
            OpenApiTypes.STR, description="CSV (RFC 4180), a header row then one row per record, streamed. "
                                          "Decimals as plain strings, dates ISO 8601, timestamps in UTC; text "
                                          "starting with = + - @ is prefixed with an apostrophe.")},
        description="Stream a books-and-records export of a date range as CSV.",
    )
    def get(self, request, kind):
        if kind not in exports.EXPORTS:
            raise Http404
        query = ExportRangeQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        date_from, date_to = query.validated_data["date_from"], query.validated_data["date_to"]
        response = StreamingHttpResponse(exports.export_csv(kind, date_from=date_from, date_to=date_to),
                                         content_type="text/csv; charset=utf-8")
        filename = exports.export_filename(kind, date_from=date_from, date_to=date_to)
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        response["Cache-Control"] = "no-store"
        return response

    def finalize_response(self, request, response, *args, **kwargs):
        # Errors are JSON, whatever the client asked for.
        if isinstance(response, Response):
            request.accepted_renderer, request.accepted_media_type = JSONRenderer(), JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)


class ManifestFileOutput(serializers.Serializer):
    name = serializers.CharField()
    rows = serializers.IntegerField()
    sha256 = serializers.CharField()
    bytes = serializers.IntegerField()


class ManifestOutput(serializers.ModelSerializer):
    files = ManifestFileOutput(many=True)

    class Meta:
        model = ExportManifest
        fields = ["id", "business_date", "date_from", "date_to", "files", "signature", "created_at", "created_by"]


class ManifestInput(serializers.Serializer):
    business_date = StrictDateField()
    date_from = StrictDateField(required=False, help_text="Default: the business date.")
    date_to = StrictDateField(required=False, help_text="Default: the business date.")

    def validate(self, attrs):
        business_date = attrs["business_date"]
        if business_date > timezone.localdate():
            raise serializers.ValidationError({"business_date": ["Must not be in the future."]})
        attrs.setdefault("date_from", business_date)
        attrs.setdefault("date_to", business_date)
        try:
            exports.export_range_check(attrs["date_from"], attrs["date_to"])
        except BusinessRuleError as exc:
            raise serializers.ValidationError(exc.as_dict()) from exc
        return attrs


ManifestQueued = inline_serializer("ManifestQueued", fields={
    "business_date": serializers.DateField(),
    "date_from": serializers.DateField(),
    "date_to": serializers.DateField(),
    "status": serializers.ChoiceField(choices=["QUEUED"]),
    "task_id": serializers.CharField(allow_null=True),
})


class ManifestFilter(django_filters.FilterSet):
    business_date = StrictDateFilter()

    class Meta:
        model = ExportManifest
        fields = ["business_date"]


class ManifestListCreateApi(generics.ListAPIView):
    permission_classes = [ExportRole]
    serializer_class = ManifestOutput
    filterset_class = ManifestFilter

    def get_queryset(self):
        return selectors.export_manifest_list()

    @extend_schema(
        request=ManifestInput,
        responses={
            202: OpenApiResponse(ManifestQueued, description="Queued to a worker: the exports are written and "
                                                             "signed; poll GET ?business_date= for the manifest."),
            200: OpenApiResponse(ManifestOutput, description="The date's manifest exists already (idempotent); "
                                                             "409 if it covers a different range."),
        },
        description="Write the day's exports (trade blotter, stock record, cash, audit trail) and a signed manifest "
                    "of their SHA-256 hashes.",
    )
    def post(self, request):
        data = ManifestInput(data=request.data)
        data.is_valid(raise_exception=True)
        business_date, date_from, date_to = (data.validated_data[k] for k in ("business_date", "date_from", "date_to"))
        existing = selectors.export_manifest_get(business_date)
        if existing is not None:
            if (existing.date_from, existing.date_to) != (date_from, date_to):
                raise ConflictError(f"The manifest of {business_date} covers {existing.date_from}..{existing.date_to}.")
            return Response(ManifestOutput(existing).data)
        try:
            result = daily_exports_task.delay(business_date.isoformat(), date_from.isoformat(), date_to.isoformat(),
                                              request.user.pk)
        except Exception as exc:
            # Nothing was written: the task creates the run. The client may retry.
            logger.exception("the daily exports of %s could not be queued", business_date)
            raise BrokerUnavailable from exc
        return Response({"business_date": business_date, "date_from": date_from, "date_to": date_to,
                         "status": "QUEUED", "task_id": result.id}, status=status.HTTP_202_ACCEPTED)
