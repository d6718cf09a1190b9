"""API of accounting/journals: journal entries with their lines, manual entries and reversals (API.md "Accounting").

GET lists entries (newest first, lines loaded for the whole page at once) and one entry. A manual entry
(POST) and a reversal (POST .../reverse/) are proposed under maker-checker ("journal.manual",
"journal.reversal") and answer 202 with the proposal; a refused entry is a 400 with every message at its
field (lines nested per line), and nothing is written. Accounting writes; accounting, operations and
compliance read. Thin: parse, call one service or selector, shape.
"""

from django.http import Http404
from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from accounting.journals import selectors
from accounting.journals.kinds import JOURNAL_MANUAL, JOURNAL_REVERSAL
from accounting.journals.validators import manual_entry_parse
from accounting.models import JournalEntry
from backoffice.core.fields import QUANTITY, RATE, StrictCharField, StrictDateField, StrictDecimalField
from backoffice.core.permissions import HasRole
from backoffice.core.roles import ACCOUNTING, COMPLIANCE, OPERATIONS
from records.approvals import services as approvals
from records.approvals.api import ChangeRequestOutput
from records.reference.validators import format_amount

JournalRole = HasRole(ACCOUNTING, read=(ACCOUNTING, OPERATIONS, COMPLIANCE))
PROPOSED_THROUGH_API = "proposed through the API"

_AMOUNT = {"type": "string", "format": "decimal", "nullable": True, "pattern": r"^-?\d+(\.\d+)?$"}


@extend_schema_field(_AMOUNT)
class _Amount(serializers.Field):
    """A line's amount with at least its currency's minor units; debit and credit are null on the other side."""

    def __init__(self, side: str | None = None, **kwargs):
        self.side = side
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, line):
        value = line.amount if self.field_name in ("debit", "credit", "amount") else line.base_amount
        if (self.side == "debit" and value <= 0) or (self.side == "credit" and value >= 0):
            return None
        return format_amount(abs(value) if self.side else value, line.currency)


class JournalLineOutput(serializers.Serializer):
    gl_account = serializers.CharField(source="gl_account.code")
    gl_name = serializers.CharField(source="gl_account.name")
    debit = _Amount("debit", help_text="The amount debited, or null.")
    credit = _Amount("credit", help_text="The amount credited, or null.")
    amount = _Amount(help_text="Signed: debit positive, credit negative, in the entry's currency.")
    base_amount = _Amount(help_text="The amount in the base currency at fx_rate.")
    fx_rate = StrictDecimalField(kind=RATE, help_text="Base-currency units per unit of the entry's currency.")
    quantity = StrictDecimalField(kind=QUANTITY, help_text="Securities the line moves (investment accounts).")
    account = serializers.CharField(source="account.code", allow_null=True, default=None,
                                    help_text="Trading account (sub-ledger) of the line.")
    instrument = serializers.CharField(source="instrument.isin", allow_null=True, default=None)


class JournalEntryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    entry_date = serializers.DateField(help_text="The accounting date (its period).")
    event_date = serializers.DateField(help_text="When the source event happened.")
    source_type = serializers.ChoiceField(choices=JournalEntry.Source.choices)
    source_id = serializers.IntegerField(help_text="The source record's id (MANUAL: the change request; a manual "
                                                   "reversal: the entry it reverses).")
    source_version = serializers.IntegerField()
    rule = serializers.CharField(help_text="The posting rule's event (TRADE_BUY, ...), MANUAL or MANUAL_REVERSAL.")
    generation = serializers.IntegerField()
    reversal_of = serializers.IntegerField(source="reversal_of_id", allow_null=True)
    reversed_by = serializers.SerializerMethodField()
    account = serializers.CharField(source="account.code", allow_null=True, default=None)
    instrument = serializers.CharField(source="instrument.isin", allow_null=True, default=None)
    currency = serializers.CharField()
    description = serializers.CharField()
    posted_at = serializers.DateTimeField()
    posted_by = serializers.CharField(source="posted_by.get_username", allow_null=True, default=None)
    lines = JournalLineOutput(many=True)

    def get_reversed_by(self, entry) -> int | None:
        reversed_by = getattr(entry, "reversed_by", None)
        return reversed_by.pk if reversed_by is not None else None


class JournalQueryInput(serializers.Serializer):
    date_from = StrictDateField(required=False)
    date_to = StrictDateField(required=False)
    account = StrictCharField(max_length=30, required=False, help_text="Trading account code (entry or line).")
    source = StrictCharField(max_length=40, required=False,
                             help_text="A source type (TRADE, SETTLEMENT, CASH, PENALTY, MTM, FX, MANUAL, NETTING, "
                                       "STOCK) or one source record as TYPE:ID (TRADE:123).")
    rule = StrictCharField(max_length=40, required=False)
    gl_account = StrictCharField(max_length=20, required=False, help_text="A GL account code any line is on.")
    currency = StrictCharField(max_length=3, required=False)

    def validate(self, data):
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise ValidationError({"date_to": ["Must not be before date_from."]})
        if data.get("source"):
            selectors.parse_source(data["source"])
        return data


class ManualLineInput(serializers.Serializer):
    gl_account = serializers.CharField(help_text="GL account code: active, not a heading.")
    debit = serializers.CharField(required=False, help_text="A decimal string above zero; or give credit.")
    credit = serializers.CharField(required=False)
    account = serializers.CharField(required=False, allow_null=True, help_text="Trading account code (default: the "
                                                                               "entry's).")
    instrument = serializers.CharField(required=False, allow_null=True, help_text="ISIN")


class ManualEntryInput(serializers.Serializer):
    entry_date = serializers.DateField(help_text="In an open period.")
    currency = serializers.CharField(help_text="ISO 4217, with an FX rate to the base currency on or before the "
                                               "entry date.")
    description = serializers.CharField(max_length=200)
    account = serializers.CharField(required=False, allow_null=True, help_text="Trading account code (optional).")
    lines = ManualLineInput(many=True, help_text="At least two; debits equal credits.")
    reason = serializers.CharField(max_length=1000, required=False, help_text="Why: shown to the approver.")


class ReversalInput(serializers.Serializer):
    reason = StrictCharField(max_length=1000, help_text="Why it is reversed: shown to the approver.")
    entry_date = StrictDateField(required=False, allow_null=True, default=None,
                                 help_text="The reversal's date, in an open period, not before the entry's; "
                                           "default: the day it is approved.")


def _object(data) -> dict:
    if not isinstance(data, dict):
        raise ValidationError({"non_field_errors": ["Expected a JSON object."]})
    return data


def _reason(data: dict) -> str:
    reason = data.get("reason", "")
    if not isinstance(reason, str) or len(reason) > 1000:
        raise ValidationError({"reason": ["Text of at most 1000 characters."]})
    return reason.strip()


class JournalEntryListApi(generics.ListAPIView):
    permission_classes = [JournalRole]
    serializer_class = JournalEntryOutput

    def get_queryset(self):
        query = JournalQueryInput(data=self.request.query_params.dict())
        query.is_valid(raise_exception=True)
        return selectors.journal_entry_list(**query.validated_data)

    @extend_schema(parameters=[JournalQueryInput],
                   description="Journal entries with their lines, newest first (entry date, then id).")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(request=ManualEntryInput, responses={
        202: OpenApiResponse(ChangeRequestOutput, description="Proposed: the entry is posted when a different "
                                                              "accounting user approves it."),
        400: OpenApiResponse(description="Refused, nothing written: every message at its field, lines nested per "
                                         "line (unbalanced, unknown or inactive GL account, unknown currency, no FX "
                                         "rate for the date, the date in a closed period, ...).")},
        description="Propose a manual journal entry (maker-checker, kind journal.manual). Approved, it posts with "
                    "source MANUAL (source_id: the change request) and rule MANUAL, as the approver.")
    def post(self, request):
        data = _object(request.data)
        reason = _reason(data)
        entry = manual_entry_parse({name: value for name, value in data.items() if name != "reason"})
        change = approvals.change_propose(actor=request.user, kind=JOURNAL_MANUAL, payload=entry.payload(),
                                          reason=reason or PROPOSED_THROUGH_API)
        return Response(ChangeRequestOutput(change).data, status=status.HTTP_202_ACCEPTED)


def _entry_or_404(entry_id: int) -> JournalEntry:
    entry = selectors.journal_entry_get(entry_id)
    if entry is None:
        raise Http404
    return entry


class JournalEntryDetailApi(generics.GenericAPIView):
    permission_classes = [JournalRole]
    serializer_class = JournalEntryOutput

    @extend_schema(description="One journal entry with its lines.")
    def get(self, request, entry_id: int):
        return Response(JournalEntryOutput(_entry_or_404(entry_id)).data)


class JournalEntryReverseApi(generics.GenericAPIView):
    permission_classes = [JournalRole]
    serializer_class = ChangeRequestOutput

    @extend_schema(request=ReversalInput, responses={
        202: OpenApiResponse(ChangeRequestOutput, description="Proposed: the reversal is posted when a different "
                                                              "accounting user approves it."),
        400: OpenApiResponse(description="No reason, or a date before the entry's or in a closed period."),
        409: OpenApiResponse(description="The entry is reversed already (or its reversal awaits approval), is itself "
                                         "a reversal, or was posted by the posting engine (correct its source).")},
        description="Propose reversing a manual journal entry (maker-checker, kind journal.reversal): approved, it "
                    "posts the mirror entry (every line with its sign flipped, at the original's rate) with "
                    "reversal_of set and rule MANUAL_REVERSAL.")
    def post(self, request, entry_id: int):
        entry = _entry_or_404(entry_id)
        data = _object(request.data)
        unknown = sorted(set(data) - {"reason", "entry_date"})
        if unknown:
            raise ValidationError({unknown[0]: ["Unknown field; expected reason, entry_date."]})
        body = ReversalInput(data=data)
        body.is_valid(raise_exception=True)
        day = body.validated_data["entry_date"]
        change = approvals.change_propose(
            actor=request.user, kind=JOURNAL_REVERSAL,
            payload={"entry": entry.pk, "entry_date": day.isoformat() if day else None},
            reason=body.validated_data["reason"])
        return Response(ChangeRequestOutput(change).data, status=status.HTTP_202_ACCEPTED)


urlpatterns = [
    path("journal-entries/", JournalEntryListApi.as_view(), name="api-journal-entries"),
    path("journal-entries/<int:entry_id>/", JournalEntryDetailApi.as_view(), name="api-journal-entry"),
    path("journal-entries/<int:entry_id>/reverse/", JournalEntryReverseApi.as_view(),
         name="api-journal-entry-reverse"),
]
