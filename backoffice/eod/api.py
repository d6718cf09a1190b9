"""End-of-day runs over the API (API.md "Jobs and end of day"). Thin: parse, call one service or selector, shape.

Operations start and rerun; operations, compliance and accounting read (as they read jobs).
"""

import django_filters
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.response import Response

from backoffice.core.api import StrictDateFilter
from backoffice.core.fields import StrictDateField
from backoffice.core.jobs.api import JobOutput
from backoffice.core.jobs.models import JobRun
from backoffice.core.permissions import HasRole
from backoffice.core.roles import ACCOUNTING, COMPLIANCE, OPERATIONS
from backoffice.eod import selectors, services

EodRole = HasRole(OPERATIONS, read=(OPERATIONS, COMPLIANCE, ACCOUNTING))


class EodRunInput(serializers.Serializer):
    settlement_date = StrictDateField(help_text="A settlement day of at least one market, today or earlier.")


class EodRunOutput(JobOutput):
    settlement_date = serializers.SerializerMethodField()

    class Meta(JobOutput.Meta):
        fields = [*JobOutput.Meta.fields, "settlement_date"]

    @extend_schema_field(serializers.DateField())
    def get_settlement_date(self, job):
        return job.parameters.get("settlement_date")


class EodStageOutput(serializers.Serializer):
    name = serializers.CharField(help_text="matching, netting, settlement, posting, mark-to-market, "
                                           "reconciliation or surveillance, in this order.")
    title = serializers.CharField()
    kind = serializers.CharField(source="stage.kind", help_text="The kind of the stage's child run.")
    status = serializers.CharField(help_text="The child run's status; NOT_STARTED, or SKIPPED (see note).")
    note = serializers.CharField()
    job = serializers.SerializerMethodField(help_text="The child run's id (GET /api/v1/jobs/{id}/).")
    progress = serializers.SerializerMethodField()
    chunks_total = serializers.SerializerMethodField()
    chunks_done = serializers.SerializerMethodField()
    rows_affected = serializers.SerializerMethodField()
    started_at = serializers.SerializerMethodField()
    finished_at = serializers.SerializerMethodField()
    duration_seconds = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField()

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_job(self, view):
        return view.child.pk if view.child else None

    @extend_schema_field(serializers.FloatField())
    def get_progress(self, view):
        return view.child.progress if view.child else (1.0 if view.status == selectors.SKIPPED else 0.0)

    @extend_schema_field(serializers.IntegerField())
    def get_chunks_total(self, view):
        return view.child.chunks_total if view.child else 0

    @extend_schema_field(serializers.IntegerField())
    def get_chunks_done(self, view):
        return view.child.chunks_done if view.child else 0

    @extend_schema_field(serializers.IntegerField())
    def get_rows_affected(self, view):
        return view.child.rows_affected if view.child else 0

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_started_at(self, view):
        return serializers.DateTimeField().to_representation(view.child.started_at) if view.child and \
            view.child.started_at else None

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_finished_at(self, view):
        return serializers.DateTimeField().to_representation(view.child.finished_at) if view.child and \
            view.child.finished_at else None

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_duration_seconds(self, view):
        duration = view.child.duration if view.child else None
        return None if duration is None else round(duration.total_seconds(), 3)

    @extend_schema_field(serializers.CharField())
    def get_error(self, view):
        return view.child.error if view.child else ""


class EodRunDetailOutput(EodRunOutput):
    stages = serializers.SerializerMethodField()

    class Meta(EodRunOutput.Meta):
        fields = [*EodRunOutput.Meta.fields, "stages"]

    @extend_schema_field(EodStageOutput(many=True))
    def get_stages(self, job):
        return EodStageOutput(selectors.eod_stages(job), many=True).data


class EodRunFilter(django_filters.FilterSet):
    settlement_date = StrictDateFilter(method="of_date", help_text="The runs of one settlement date.")
    status = django_filters.ChoiceFilter(choices=JobRun.Status.choices)

    class Meta:
        model = JobRun
        fields = ["settlement_date", "status"]

    def of_date(self, queryset, name, value):
        return queryset.filter(parameters__settlement_date=value.isoformat())


class EodRunListApi(generics.ListAPIView):
    permission_classes = [EodRole]
    serializer_class = EodRunOutput
    filterset_class = EodRunFilter

    def get_queryset(self):
        return selectors.eod_run_list()

    @extend_schema(description="End-of-day runs, newest first: the history per settlement date.")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=EodRunInput,
        responses={202: OpenApiResponse(EodRunOutput, description=(
            "The run (a job of kind eod), queued to the workers; follow it at /api/v1/eod/runs/{id}/ or "
            "/api/v1/jobs/{id}/. The date's last run failed: the new run is its rerun (rerun_of) and resumes "
            "the failed stage.")),
            400: OpenApiResponse(description="settlement_date missing, malformed, in the future or a day no "
                                             "market settles."),
            409: OpenApiResponse(description="An end-of-day run of this date is queued or running.")},
        description="Run the end of day of a settlement date: matching, netting and instructions, settlement, "
                    "posting, mark to market, reconciliation, surveillance, each stage a child job.")
    def post(self, request):
        data = EodRunInput(data=request.data)
        data.is_valid(raise_exception=True)
        job = services.eod_run_start(settlement_date=data.validated_data["settlement_date"],
                                     started_by=request.user)
        return Response(EodRunOutput(selectors.eod_run_get(job_id=job.pk), context={"request": request}).data,
                        status=status.HTTP_202_ACCEPTED)


class EodRunDetailApi(generics.GenericAPIView):
    permission_classes = [EodRole]
    serializer_class = EodRunDetailOutput

    @extend_schema(description="One end-of-day run with its stages: each stage's child job, status, progress, "
                               "rows, duration and error.")
    def get(self, request, run_id: int):
        job = selectors.eod_run_get(job_id=run_id)
        if job is None:
            raise Http404
        return Response(EodRunDetailOutput(job, context={"request": request}).data)


class EodRunRerunApi(generics.GenericAPIView):
    permission_classes = [EodRole]
    serializer_class = EodRunOutput

    @extend_schema(
        request=None,
        responses={202: OpenApiResponse(EodRunOutput, description="The new run (rerun_of the failed one), "
                                                                  "queued: it resumes the failed stage."),
                   409: OpenApiResponse(description="The run did not fail, or a run of its date is under way.")},
        description="Rerun a failed end-of-day run: stages that completed are skipped, the failed stage's job is "
                    "resumed keeping its committed chunks, the later stages follow.")
    def post(self, request, run_id: int):
        if selectors.eod_run_get(job_id=run_id) is None:
            raise Http404
        job = services.eod_run_rerun(job_id=run_id, started_by=request.user)
        return Response(EodRunOutput(selectors.eod_run_get(job_id=job.pk), context={"request": request}).data,
                        status=status.HTTP_202_ACCEPTED)
