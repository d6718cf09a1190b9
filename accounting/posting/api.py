"""API of accounting's posting: mark to market (API.md "Accounting"), posting and end-of-day runs, the rules."""

import django_filters
from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounting.posting import selectors, services
from backoffice.core.fields import StrictDateField
from backoffice.core.jobs.api import JobOutput
from backoffice.core.jobs.models import JobRun
from backoffice.core.permissions import HasRole
from backoffice.core.roles import ACCOUNTING, COMPLIANCE, OPERATIONS

PostingRole = HasRole(ACCOUNTING, OPERATIONS, read=(ACCOUNTING, OPERATIONS, COMPLIANCE))


class AsOfInput(serializers.Serializer):
    as_of = StrictDateField(required=False, help_text="YYYY-MM-DD, default today; not in the future.")


class PostingRunFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=[(k, k) for k in services.KINDS])
    status = django_filters.ChoiceFilter(choices=JobRun.Status.choices)

    class Meta:
        model = JobRun
        fields = ["kind", "status"]


def _accepted(request, job: JobRun) -> Response:
    return Response(JobOutput(job, context={"request": request}).data, status=status.HTTP_202_ACCEPTED)


class MarkToMarketApi(APIView):
    permission_classes = [PostingRole]

    @extend_schema(request=AsOfInput, responses={202: OpenApiResponse(JobOutput, description=(
        "The run, queued: it posts what is not posted yet, then revalues open positions at the latest prices on or "
        "before as_of (reversed the next day) and foreign-currency balances at as_of's rates. Follow it at "
        "/api/v1/jobs/{id}/."))},
        description="Mark to market as of a date.")
    def post(self, request):
        data = AsOfInput(data=request.data)
        data.is_valid(raise_exception=True)
        job = services.mark_to_market_start(as_of=data.validated_data.get("as_of"), started_by=request.user)
        return _accepted(request, job)


class PostingRunListApi(generics.ListAPIView):
    permission_classes = [PostingRole]
    serializer_class = JobOutput
    filterset_class = PostingRunFilter

    def get_queryset(self):
        return selectors.posting_run_list()

    @extend_schema(description="Accounting's runs (posting, mark to market, end of day), newest first; each chunk's "
                               "result counts the entries it posted by rule and what it left unposted, by reason.")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(request=None, responses={202: JobOutput, 409: OpenApiResponse(
        description="A posting run is queued or running: it posts everything there is.")},
                   description="Post now what is not posted yet (the schedule does it every few minutes).")
    def post(self, request):
        return _accepted(request, services.posting_run_start(started_by=request.user))


class EodRunApi(APIView):
    permission_classes = [PostingRole]

    @extend_schema(request=AsOfInput, responses={202: JobOutput},
                   description="The accounting end of day as of a date: post, mark to market, revalue FX balances, "
                               "then reconcile the ledger to the stock record and the cash balances.")
    def post(self, request):
        data = AsOfInput(data=request.data)
        data.is_valid(raise_exception=True)
        job = services.accounting_eod_start(as_of=data.validated_data.get("as_of"), started_by=request.user)
        return _accepted(request, job)


class PostingRuleOutput(serializers.Serializer):
    event = serializers.CharField()
    leg = serializers.CharField()
    debit = serializers.CharField(help_text="The role of the GL account debited (a negative amount swaps the sides).")
    credit = serializers.CharField()
    amount = serializers.CharField()


class PostingBacklogOutput(serializers.Serializer):
    trades = serializers.IntegerField()
    stock_movements = serializers.IntegerField()
    obligations = serializers.IntegerField()
    settlement_movements = serializers.IntegerField()
    cash_movements = serializers.IntegerField()
    fail_penalties = serializers.IntegerField()


class PostingRulesApi(APIView):
    permission_classes = [PostingRole]

    @extend_schema(responses={200: PostingRuleOutput(many=True)},
                   description="The posting rules: event × leg → debit account, credit account, amount.")
    def get(self, request):
        return Response(PostingRuleOutput(selectors.posting_rules(), many=True).data)


class PostingBacklogApi(APIView):
    permission_classes = [PostingRole]

    @extend_schema(responses={200: PostingBacklogOutput},
                   description="Events waiting for the next posting run, per kind of source.")
    def get(self, request):
        backlog = {key.replace(" ", "_"): value for key, value in selectors.posting_backlog().items()}
        return Response(PostingBacklogOutput(backlog).data)


urlpatterns = [
    path("mark-to-market/", MarkToMarketApi.as_view(), name="api-accounting-mark-to-market"),
    path("posting-runs/", PostingRunListApi.as_view(), name="api-accounting-posting-runs"),
    path("eod-runs/", EodRunApi.as_view(), name="api-accounting-eod-runs"),
    path("posting-rules/", PostingRulesApi.as_view(), name="api-accounting-posting-rules"),
    path("posting-backlog/", PostingBacklogApi.as_view(), name="api-accounting-posting-backlog"),
]
