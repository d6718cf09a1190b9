"""Trade files over the API (docs/trade-files.md): upload (202 with the job), list, detail, per-row report."""

import json

from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, OpenApiTypes, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.parsers import BaseParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from backoffice.core.csv_export import csv_blocks, csv_lines
from backoffice.core.jobs.api import JobOutput
from backoffice.core.jobs.models import JobRun
from backoffice.core.permissions import HasRole
from backoffice.core.roles import FRONT_OFFICE, OPERATIONS
from records.trades.files import selectors, services
from records.trades.files.models import TradeFile

# Whoever may submit bulk trades.
TradeFileRole = HasRole(FRONT_OFFICE, OPERATIONS)
# A file past its retention period is purged with its staged rows (records.retention): it answers as a file
# that never was.
MISSING = "No trade file {file_id}: it was never uploaded, or it was purged with its report after its retention period."


class _RawFileParser(BaseParser):
    """A raw body kept as a stream: the upload reads it a block at a time."""

    def parse(self, stream, media_type=None, parser_context=None):
        return {"stream": stream, "media_type": self.media_type}


class CsvBodyParser(_RawFileParser):
    media_type = "text/csv"


class NdjsonBodyParser(_RawFileParser):
    media_type = "application/x-ndjson"


class TradeFileJobOutput(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=JobRun.Status.choices)
    progress = serializers.FloatField()
    error = serializers.CharField()
    result = serializers.JSONField(help_text="When completed: [{file_id, rows_total, created, duplicate, "
                                             "rejected, report}].")


class TradeFileOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    format = serializers.ChoiceField(choices=TradeFile.Format.choices)
    size = serializers.IntegerField(help_text="Bytes.")
    sha256 = serializers.CharField()
    columns = serializers.ListField(child=serializers.CharField(), help_text="A CSV file's header.")
    row_count = serializers.IntegerField()
    rows_done = serializers.IntegerField(help_text="Rows with their outcome so far.")
    status = serializers.ChoiceField(choices=JobRun.Status.choices)
    created = serializers.IntegerField()
    duplicate = serializers.IntegerField()
    rejected = serializers.IntegerField()
    uploaded_by = serializers.CharField(source="uploaded_by.username")
    uploaded_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)
    job = TradeFileJobOutput(allow_null=True)
    report = serializers.SerializerMethodField()

    def get_report(self, file) -> str:
        from django.urls import reverse

        return reverse("api-trade-file-report", kwargs={"file_id": file.pk})


class TradeFileUploadOutput(JobOutput):
    file = TradeFileOutput()

    class Meta(JobOutput.Meta):
        fields = [*JobOutput.Meta.fields, "file"]


class TradeFileUploadSchema(serializers.Serializer):
    file = serializers.FileField(help_text="A .csv or .ndjson file (or send the file as the raw body).")


class TradeFileListCreateApi(generics.ListAPIView):
    permission_classes = [TradeFileRole]
    serializer_class = TradeFileOutput
    parser_classes = [MultiPartParser, CsvBodyParser, NdjsonBodyParser]

    def get_queryset(self):
        return selectors.trade_file_list()

    @extend_schema(description="Trade files, newest first: status, progress and counts per outcome.")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request={"multipart/form-data": TradeFileUploadSchema, "text/csv": OpenApiTypes.BINARY,
                 "application/x-ndjson": OpenApiTypes.BINARY},
        responses={202: OpenApiResponse(TradeFileUploadOutput, description=(
                       "The job booking the file (as GET /api/v1/jobs/{id}/ shows it), the file under `file`. Once "
                       "the job completes, its result links the per-row report.")),
                   400: OpenApiResponse(description="The file is refused as a whole (under `file`): empty, not "
                                                    "UTF-8, a wrong header or delimiter. Nothing is staged."),
                   415: OpenApiResponse(description="The body is none of multipart/form-data, text/csv and "
                                                    "application/x-ndjson (or its multipart headers cannot be "
                                                    "read). Nothing is staged.")},
        description="Upload a CSV or NDJSON trade file (multipart field `file`, or the raw body with its content "
                    "type). Every row gets the answer POST /api/v1/trades/bulk/ would give it.")
    def post(self, request):
        data = request.data
        if isinstance(data, dict) and "stream" in data and "media_type" in data:
            stream, name = data["stream"], request.headers.get("X-File-Name", "")
            file_format = services.file_format(name="", content_type=data["media_type"])
            if stream is None:
                raise services.TradeFileRefused("The file is empty.")
        else:
            upload = request.FILES.get("file")
            if upload is None:
                raise serializers.ValidationError({"file": ["Send the trade file in the multipart field `file`, "
                                                            "or as the raw body (text/csv or application/x-ndjson)."]})
            stream, name = upload, upload.name
            file_format = services.file_format(name=upload.name, content_type=upload.content_type or "")
        file = services.trade_file_upload(uploaded_by=request.user, stream=stream, name=name, format=file_format)
        file = selectors.trade_file_get(file.pk)
        return Response({**JobOutput(file.job, context={"request": request}).data, "file": TradeFileOutput(file).data},
                        status=status.HTTP_202_ACCEPTED)


def _file_or_404(file_id: int) -> TradeFile:
    file = selectors.trade_file_get(file_id)
    if file is None:
        raise NotFound(MISSING.format(file_id=file_id))
    return file


class TradeFileDetailApi(APIView):
    permission_classes = [TradeFileRole]

    @extend_schema(responses=TradeFileOutput, description="One trade file: its job, progress and counts.")
    def get(self, request, file_id: int):
        return Response(TradeFileOutput(_file_or_404(file_id)).data)


def report_csv(file: TradeFile, *, rejected_only: bool = False) -> StreamingHttpResponse:
    rows = ((r["line"], r["external_ref"], r["status"], r["trade_id"], r["errors"])
            for r in selectors.trade_file_report(file, rejected_only=rejected_only))
    response = StreamingHttpResponse(csv_blocks(csv_lines(selectors.REPORT_COLUMNS, rows)),
                                     content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="trade-file-{file.pk}-report.csv"'
    return response


def report_ndjson(file: TradeFile, *, rejected_only: bool = False) -> StreamingHttpResponse:
    lines = (json.dumps(row, separators=(",", ":")) + "\n"
             for row in selectors.trade_file_report(file, rejected_only=rejected_only))
    response = StreamingHttpResponse(csv_blocks(lines), content_type="application/x-ndjson")
    response["Content-Disposition"] = f'attachment; filename="trade-file-{file.pk}-report.ndjson"'
    return response


class TradeFileReportApi(APIView):
    permission_classes = [TradeFileRole]

    @extend_schema(
        parameters=[OpenApiParameter("format", str, enum=["csv", "ndjson"], description="Default csv."),
                    OpenApiParameter("status", str, enum=["rejected"], description="Only the rejected rows.")],
        responses={(200, "text/csv"): OpenApiTypes.BINARY},
        description="The per-row report, streamed in line order: line, external_ref, status (created, duplicate, "
                    "rejected; empty while not booked yet), trade_id, errors (JSON).")
    def get(self, request, file_id: int):
        file = _file_or_404(file_id)
        wanted = request.query_params.get("format", "csv")
        if wanted not in ("csv", "ndjson"):
            raise serializers.ValidationError({"format": ["csv or ndjson."]})
        only = request.query_params.get("status", "")
        if only not in ("", "rejected"):
            raise serializers.ValidationError({"status": ["Only \"rejected\" filters the report."]})
        if wanted == "ndjson":
            return report_ndjson(file, rejected_only=bool(only))
        return report_csv(file, rejected_only=bool(only))
