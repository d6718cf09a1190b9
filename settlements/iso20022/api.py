"""The API of ISO 20022 messages (wired by settlements/fails/api.py): sese.023 out, status messages in. Thin.

- GET /api/v1/settlements/instructions/{id}/sese023/: the instruction as sese.023.001.11 XML (200
  application/xml; 404 unknown; 409 with the reasons when it breaks a rule the schema does not check);
- POST /api/v1/settlements/status-messages/: a depository's status of an instruction, SETTLED or
  FAILED (201; 200 for the same message again; 409 for a message id used with other content).
"""

from django.http import Http404, HttpResponse
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from backoffice.core.fields import StrictCharField
from backoffice.core.permissions import HasRole
from backoffice.core.roles import ACCOUNTING, COMPLIANCE, OPERATIONS
from settlements.iso20022 import builder, selectors, services
from settlements.iso20022.services import STATUSES

ExportRole = HasRole(OPERATIONS, read=(OPERATIONS, COMPLIANCE, ACCOUNTING))


class XMLRenderer(BaseRenderer):
    """Lets a client ask for application/xml; the message itself is built by the view, never rendered here."""

    media_type = builder.CONTENT_TYPE
    format = "xml"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data if isinstance(data, bytes | str) else b""


class ConflictOutput(serializers.Serializer):
    detail = serializers.CharField()
    reasons = serializers.ListField(child=serializers.CharField(), required=False)


class Sese023Api(APIView):
    permission_classes = [ExportRole]
    renderer_classes = [JSONRenderer, XMLRenderer]

    @extend_schema(
        operation_id="settlements_instruction_sese023",
        parameters=[OpenApiParameter("format", exclude=True)],
        responses={(200, builder.CONTENT_TYPE): OpenApiResponse(
            OpenApiTypes.STR, description="The instruction as an ISO 20022 sese.023.001.11 Document (UTF-8), valid "
                                          "against the official schema."),
            (404, "application/json"): OpenApiResponse(description="No such instruction."),
            (409, "application/json"): OpenApiResponse(ConflictOutput, description=(
                "The instruction cannot be instructed as it is: no standing settlement instruction, an invalid "
                "ISIN, BIC or LEI, an amount that is not the gross trade's quantity x price, ... (reasons)."))},
        description="Export a settlement instruction as ISO 20022 sese.023 (securities settlement transaction "
                    "instruction): movement and payment type, trade and settlement dates, ISIN, quantity (units, or "
                    "face amount for bonds), our safekeeping account, the counterparty's depository, agent and "
                    "account from its standing settlement instruction, and the settlement amount with its "
                    "credit/debit indicator.")
    def get(self, request, instruction_id: int):
        facts = selectors.instruction_export_facts(instruction_id)
        if facts is None:
            raise Http404
        xml, problems = builder.sese023_export(facts)
        if problems:
            return Response({"detail": f"Instruction {instruction_id} cannot be exported as {builder.MESSAGE}: "
                                       + " ".join(problems), "reasons": problems}, status=status.HTTP_409_CONFLICT)
        response = HttpResponse(xml, content_type=f"{builder.CONTENT_TYPE}; charset=utf-8")
        response["Content-Disposition"] = f'inline; filename="{builder.sese023_filename(instruction_id)}"'
        return response

    def finalize_response(self, request, response, *args, **kwargs):
        # Errors are JSON, whatever the client asked for.
        if isinstance(response, Response):
            request.accepted_renderer, request.accepted_media_type = JSONRenderer(), JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)


class StatusMessageInput(serializers.Serializer):
    message_id = StrictCharField(max_length=64, help_text="The message's own id: the idempotency key.")
    instruction = serializers.IntegerField(min_value=1, max_value=2**63 - 1, help_text="Our instruction id "
                                                                                       "(the sese.023's TxId).")
    status = serializers.ChoiceField(choices=[(code, code) for code in STATUSES])
    reason = StrictCharField(max_length=200, required=False, allow_blank=True, default="",
                             help_text="Required for FAILED: why the counterparty did not settle.")

    def validate(self, attrs):
        if attrs["status"] == "FAILED" and not attrs["reason"]:
            raise serializers.ValidationError({"reason": ["A FAILED status needs the reason the counterparty gave."]})
        return attrs


class StatusMessageOutput(serializers.Serializer):
    id = serializers.IntegerField()
    message_id = serializers.CharField()
    instruction = serializers.IntegerField(source="instruction_id")
    status = serializers.CharField()
    reason = serializers.CharField()
    received_at = serializers.DateTimeField()


class StatusMessageApi(APIView):
    permission_classes = [HasRole(OPERATIONS)]

    @extend_schema(
        request=StatusMessageInput,
        responses={201: StatusMessageOutput,
                   200: OpenApiResponse(StatusMessageOutput, description="The same message was received before: "
                                                                         "nothing changes."),
                   409: OpenApiResponse(description="The message id was used with other content, or the "
                                                    "instruction cannot take the status (settled, cancelled, held).")},
        description="Import a depository's status of an instruction (sese.024/025-like). FAILED records the "
                    "counterparty's failure on the instruction (it will not settle until cleared); SETTLED settles "
                    "what is left of it as the depository reports. Idempotent by message_id.")
    def post(self, request):
        data = StatusMessageInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        message, created = services.status_message_receive(
            actor=request.user, message_id=values["message_id"], instruction_id=values["instruction"],
            status=values["status"], reason=values["reason"])
        return Response(StatusMessageOutput(message).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


urlpatterns = [
    path("settlements/instructions/<int:instruction_id>/sese023/", Sese023Api.as_view(),
         name="api-settlement-instruction-sese023"),
    path("settlements/status-messages/", StatusMessageApi.as_view(), name="api-settlement-status-messages"),
]
