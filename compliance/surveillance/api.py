"""The API of the surveillance (included by compliance/api_urls.py): API.md "Compliance".

POST /api/v1/compliance/surveillance/runs/ {"trade_date"}: 202 with the queued run (400 for a malformed, future
or non-trading date; 409 while a run of that date is under way). GET .../runs/ (history, ?trade_date=&status=)
and GET .../runs/{id}/: the job, its per-scenario counts in `result`. Compliance and operations start runs;
accounting reads too. Thin: parse, call one service or selector, shape.
"""

import django_filters
from django.http import Http404
from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from backoffice.core.api import StrictDateFilter
from backoffice.core.fields import StrictDateField
from backoffice.core.jobs.api import JobOutput
from backoffice.core.jobs.models import JobRun
from backoffice.core.permissions import HasRole
from backoffice.core.roles import ACCOUNTING, COMPLIANCE, OPERATIONS
from compliance.surveillance import selectors, services

SurveillanceRole = HasRole(COMPLIANCE, OPERATIONS, read=(COMPLIANCE, OPERATIONS, ACCOUNTING))


class RunInput(serializers.Serializer):
    trade_date = StrictDateField(help_text="YYYY-MM-DD: a trading day of some market, not in the future.")


class RunFilter(django_filters.FilterSet):
    trade_date = StrictDateFilter(method="_trade_date", help_text="Only the runs of this trade date.")
    status = django_filters.ChoiceFilter(choices=JobRun.Status.choices)

    class Meta:
        model = JobRun
        fields = ["trade_date", "status"]

    def _trade_date(self, queryset, name, value):
        return queryset.filter(parameters__trade_date=value.isoformat())


def _body(data) -> dict:
    if not isinstance(data, dict):
        raise ValidationError({"non_field_errors": ["Expected a JSON object."]})
    unknown = sorted(set(data) - {"trade_date"})
    if unknown:
        raise ValidationError({unknown[0]: ["Unknown field; expected trade_date."]})
    return data


class SurveillanceRunListApi(generics.ListAPIView):
    permission_classes = [SurveillanceRole]
    serializer_class = JobOutput
    filterset_class = RunFilter

    def get_queryset(self):
        return selectors.surveillance_run_list()

    @extend_schema(description="Surveillance runs, newest first. A completed run's `result` lists each scenario "
                               "(step) with its rules, hits, alerts raised and those already raised earlier "
                               "(existing), and its seconds; the fail step also counts penalty-box entries added "
                               "and released.")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(request=RunInput, responses={
        202: OpenApiResponse(JobOutput, description="The run, queued: follow it here or at /api/v1/jobs/{id}/."),
        400: OpenApiResponse(description="A malformed date, a date in the future, or a day no market trades."),
        409: OpenApiResponse(description="A run of that trade date is queued or running.")},
        description="Survey a trade date: wash trades, large trades against average daily volume, structuring of "
                    "cash movements, marking the close, fails to deliver past their Reg SHO close-out deadline "
                    "(which put the account in the penalty box). Reruns raise nothing twice.")
    def post(self, request):
        data = RunInput(data=_body(request.data))
        data.is_valid(raise_exception=True)
        job = services.surveillance_run_start(trade_date=data.validated_data["trade_date"], started_by=request.user)
        return Response(JobOutput(job, context={"request": request}).data, status=status.HTTP_202_ACCEPTED)


class SurveillanceRunDetailApi(generics.GenericAPIView):
    permission_classes = [SurveillanceRole]
    serializer_class = JobOutput

    @extend_schema(description="One surveillance run: status, progress, steps and per-scenario counts.")
    def get(self, request, run_id: int):
        job = selectors.surveillance_run_get(run_id)
        if job is None:
            raise Http404
        return Response(JobOutput(job, context={"request": request}).data)


urlpatterns = [
    path("compliance/surveillance/runs/", SurveillanceRunListApi.as_view(), name="api-compliance-surveillance-runs"),
    path("compliance/surveillance/runs/<int:run_id>/", SurveillanceRunDetailApi.as_view(),
         name="api-compliance-surveillance-run"),
]
