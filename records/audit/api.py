"""The audit trail over the API (docs/api-guide.md, "Records"): search and chain verification."""

import django_filters
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from backoffice.core.api import StrictDateFilter
from backoffice.core.jobs.api import JobOutput
from backoffice.core.jobs.services import job_start
from backoffice.core.permissions import HasRole
from backoffice.core.roles import ACCOUNTING, COMPLIANCE, OPERATIONS
from records.audit import selectors
from records.audit.jobs import AUDIT_VERIFY
from records.audit.models import AuditRecord, AuditVerification
from records.audit.services.audit_chain import audit_verify_incremental

AuditReaders = HasRole(COMPLIANCE, OPERATIONS, ACCOUNTING, read=(COMPLIANCE, OPERATIONS, ACCOUNTING))


class AuditFilter(django_filters.FilterSet):
    record_type = django_filters.CharFilter(help_text="app_label.model, e.g. records.trade")
    record_id = django_filters.CharFilter()
    actor = django_filters.CharFilter(field_name="actor_label", help_text="Username or job:<name>.")
    action = django_filters.CharFilter()
    date_from = StrictDateFilter(field_name="at", lookup_expr="date__gte")
    date_to = StrictDateFilter(field_name="at", lookup_expr="date__lte")
    correlation_id = django_filters.CharFilter()

    class Meta:
        model = AuditRecord
        fields = ["record_type", "record_id", "actor", "action", "date_from", "date_to", "correlation_id"]


class AuditRecordOutput(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_label")
    block = serializers.IntegerField(source="seal.block_id", allow_null=True, default=None,
                                     help_text="The sealed block holding it (null until sealed).")

    class Meta:
        model = AuditRecord
        fields = ["id", "at", "actor", "action", "record_type", "record_id", "before", "after", "reason",
                  "correlation_id", "content_hash", "block"]


class AuditListApi(generics.ListAPIView):
    permission_classes = [AuditReaders]
    serializer_class = AuditRecordOutput
    filterset_class = AuditFilter

    def get_queryset(self):
        return selectors.audit_list()


VerifyOutput = inline_serializer("AuditVerifyOutput", fields={
    "ok": serializers.BooleanField(help_text="False when anything is broken, now or at the verification it "
                                             "continued from (a broken chain stays broken)."),
    "records_checked": serializers.IntegerField(help_text="Records whose hash this call recomputed: those of the "
                                                          "blocks it checked and the unsealed ones."),
    "blocks_checked": serializers.IntegerField(help_text="Sealed blocks this call checked."),
    "unsealed": serializers.IntegerField(help_text="Records not sealed yet (checked too)."),
    "first_broken": serializers.DictField(allow_null=True, help_text="{problem, block_id, record_id, detail}"),
    "problems": serializers.ListField(child=serializers.DictField(), help_text="The first 20 problems."),
    "scope": serializers.ChoiceField(choices=AuditVerification.Scope.choices,
                                     help_text="INCREMENTAL: continued after from_block; FULL: every block."),
    "from_block": serializers.IntegerField(allow_null=True, help_text="The last block of the verification this "
                                                                      "one continued from; null when FULL."),
})


class AuditVerifyApi(APIView):
    permission_classes = [AuditReaders]

    @extend_schema(responses=VerifyOutput, description=(
        "Verify the chain from where the last kept verification ended: check that its last block still has "
        "the hash it had, then every block sealed since (records, member digests, links) and the unsealed "
        "records. A broken state found earlier stays broken. When it checked a new block the result is kept "
        "as an INCREMENTAL AuditVerification, the next call's starting point; with nothing new it keeps "
        "nothing. With no verification kept yet it verifies every block (FULL). The whole chain is "
        "recomputed by the nightly job or POST."))
    def get(self, request):
        return Response(audit_verify_incremental(actor=request.user).as_dict())

    @extend_schema(request=None, responses={202: JobOutput},
                   description="Queue a full re-verification of the chain as a batch job (kind audit-verify); "
                               "follow it at /api/v1/jobs/{id}/. Its result names the AuditVerification kept.")
    def post(self, request):
        job = job_start(kind=AUDIT_VERIFY, started_by=request.user)
        return Response(JobOutput(job, context={"request": request}).data, status=status.HTTP_202_ACCEPTED)
