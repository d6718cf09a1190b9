"""Maker-checker over the API (docs/api-guide.md, "Records": approvals). Thin: parse, call one service, shape.

A change is proposed by one user and takes effect when a different user, whose roles cover its
kind, approves it. The proposer may withdraw it; anyone else who may decide it may reject it,
giving a reason.
"""

from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from backoffice.core.exceptions import BusinessRuleError
from backoffice.core.fields import StrictBooleanField
from backoffice.core.permissions import HasRole
from backoffice.core.roles import ALL_ROLES
from records.approvals import kinds, selectors
from records.approvals import services as approvals
from records.approvals.models import ChangeRequest

# Any role may propose or decide something; the service checks the roles of each kind.
ApprovalRole = HasRole(*ALL_ROLES)

_FORBIDDEN = OpenApiResponse(description="You proposed this change (another user must decide it), or your roles "
                                         "do not cover its kind.")
_DECIDED = OpenApiResponse(description="The change is no longer pending: already approved, rejected, failed or "
                                       "withdrawn.")


class ChangeRequestOutput(serializers.ModelSerializer):
    kind = serializers.CharField(help_text="What the change does, e.g. account.update, cash.adjustment.")
    status = serializers.CharField(help_text="PENDING, APPROVED, REJECTED, FAILED (approved, but it could not be "
                                             "applied: see result.error) or WITHDRAWN.")
    target_type = serializers.CharField(help_text="app_label.model of the record it changes.")
    target_id = serializers.CharField(help_text="Business key of that record (account code, ISIN, trade id...).")
    payload = serializers.JSONField(help_text="The change; decimals and dates as strings.")
    before = serializers.JSONField(allow_null=True, help_text="The record when the change was proposed.")
    result = serializers.JSONField(allow_null=True, help_text="What applying it produced, or {\"error\": ...}.")
    proposed_by = serializers.CharField(source="proposed_by.get_username")
    decided_by = serializers.CharField(source="decided_by.get_username", allow_null=True, default=None)

    class Meta:
        model = ChangeRequest
        fields = ["id", "kind", "summary", "target_type", "target_id", "payload", "before", "status", "reason",
                  "proposed_by", "proposed_at", "decided_by", "decided_at", "decision_reason", "result"]


class ProposeInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[])
    payload = serializers.DictField(help_text="The change, as its kind takes it: e.g. for cash.adjustment "
                                              "{account, currency, amount, value_date, reference, description}; "
                                              "for account.update {code, changes: {...}}; for trade.release "
                                              "{trade_id}.")
    reason = serializers.CharField(max_length=1000)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Later apps register kinds in their ready(): read the registry now, not at import.
        self.fields["kind"].choices = [spec.kind for spec in kinds.change_kinds()]


class ApprovalQuery(serializers.Serializer):
    status = serializers.ChoiceField(choices=ChangeRequest.Status.choices, required=False,
                                     help_text="Default: PENDING changes you may decide.")
    kind = serializers.CharField(max_length=60, required=False)
    mine = StrictBooleanField(required=False, default=False, help_text="Your own proposals instead (true or false).")


class DecisionInput(serializers.Serializer):
    reason = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")


class RejectInput(serializers.Serializer):
    reason = serializers.CharField(max_length=1000)


def _propose(request, *, kind: str, payload: dict, reason: str) -> ChangeRequest:
    try:
        return approvals.change_propose(actor=request.user, kind=kind, payload=payload, reason=reason)
    except BusinessRuleError as exc:
        # A field of the payload: answer as DRF does for a nested object.
        if exc.status_code == status.HTTP_400_BAD_REQUEST and exc.field not in ("kind", "reason", "payload",
                                                                                "non_field_errors"):
            raise ValidationError({"payload": {exc.field: [exc.message]}}) from exc
        raise


class ApprovalListCreateApi(generics.ListAPIView):
    permission_classes = [ApprovalRole]
    serializer_class = ChangeRequestOutput

    @extend_schema(parameters=[ApprovalQuery],
                   description="By default the pending changes you may decide (proposed by someone else, of a "
                               "kind your roles cover), oldest first. `mine=true`: your own proposals.")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        query = ApprovalQuery(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        return selectors.change_request_search(self.request.user, status=params.get("status"),
                                               kind=params.get("kind"), mine=params["mine"])

    @extend_schema(request=ProposeInput,
                   responses={201: ChangeRequestOutput,
                              400: OpenApiResponse(description="Bad input; a field of the payload is reported "
                                                               "under payload, e.g. {\"payload\": {\"amount\": "
                                                               "[...]}}, and a change its service would refuse "
                                                               "is refused now."),
                              403: OpenApiResponse(description="Your roles do not allow proposing this kind."),
                              409: OpenApiResponse(description="Conflicts with the current state, or a change to "
                                                               "the same record is already awaiting approval.")},
                   description="Propose a change. Nothing changes until a different user approves it.")
    def post(self, request):
        data = ProposeInput(data=request.data)
        data.is_valid(raise_exception=True)
        change = _propose(request, **data.validated_data)
        return Response(ChangeRequestOutput(change).data, status=status.HTTP_201_CREATED)


def _exists_or_404(change_id: int) -> None:
    if not selectors.change_request_exists(change_id):
        raise Http404


class ApprovalDetailApi(APIView):
    permission_classes = [ApprovalRole]

    @extend_schema(responses=ChangeRequestOutput, description="A change you proposed, or one of a kind you may "
                                                              "decide.")
    def get(self, request, change_id: int):
        change = selectors.change_request_get(request.user, change_id)
        if change is None:
            raise Http404
        return Response(ChangeRequestOutput(change).data)


class ApprovalApproveApi(APIView):
    permission_classes = [ApprovalRole]

    @extend_schema(request=DecisionInput, responses={200: ChangeRequestOutput, 403: _FORBIDDEN, 409: _DECIDED},
                   description="Approve a pending change: it is applied now, as you. If it can no longer be "
                               "applied, nothing of it is, and it ends with status FAILED and the error in "
                               "result.")
    def post(self, request, change_id: int):
        _exists_or_404(change_id)
        data = DecisionInput(data=request.data)
        data.is_valid(raise_exception=True)
        change = approvals.change_approve(actor=request.user, change_id=change_id,
                                          reason=data.validated_data["reason"])
        return Response(ChangeRequestOutput(change).data)


class ApprovalRejectApi(APIView):
    permission_classes = [ApprovalRole]

    @extend_schema(request=RejectInput, responses={200: ChangeRequestOutput, 403: _FORBIDDEN, 409: _DECIDED},
                   description="Reject a pending change, with a reason. The proposal is kept.")
    def post(self, request, change_id: int):
        _exists_or_404(change_id)
        data = RejectInput(data=request.data)
        data.is_valid(raise_exception=True)
        change = approvals.change_reject(actor=request.user, change_id=change_id,
                                         reason=data.validated_data["reason"])
        return Response(ChangeRequestOutput(change).data)


class ApprovalWithdrawApi(APIView):
    permission_classes = [ApprovalRole]

    @extend_schema(request=DecisionInput,
                   responses={200: ChangeRequestOutput,
                              403: OpenApiResponse(description="Only the proposer may withdraw a change."),
                              409: _DECIDED},
                   description="Withdraw your own pending proposal.")
    def post(self, request, change_id: int):
        _exists_or_404(change_id)
        data = DecisionInput(data=request.data)
        data.is_valid(raise_exception=True)
        change = approvals.change_withdraw(actor=request.user, change_id=change_id,
                                           reason=data.validated_data["reason"])
        return Response(ChangeRequestOutput(change).data)
