"""The API of alerts and their cases (included by compliance/api_urls.py): API.md "Compliance".

GET /api/v1/compliance/alerts/ (filters ?status=&severity=&rule=&account=&owner=&kind=&date_from=&date_to=
&overdue=), GET .../{id}/ (with its history), POST .../{id}/assign/, investigate/, escalate/, close/, reopen/,
notes/, and POST .../assign/ for many at once. Compliance reads and works alerts (superusers too);
operations and accounting read them; front office is refused. Thin: parse, call one service or selector, shape.
"""

import django_filters
from django.http import Http404
from django.urls import path
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from backoffice.core.api import StrictDateFilter
from backoffice.core.fields import StrictCharField
from backoffice.core.permissions import HasRole
from backoffice.core.roles import ACCOUNTING, COMPLIANCE, OPERATIONS
from compliance.alerts import selectors, services
from compliance.alerts.models import Alert, AlertState
from compliance.rules.models import RuleKind, Severity
from records.reference import selectors as reference_selectors

AlertRole = HasRole(COMPLIANCE, read=(COMPLIANCE, OPERATIONS, ACCOUNTING))
NOT_CLOSED = "NOT_CLOSED"


def _only(data, allowed: tuple[str, ...]) -> dict:
    """The body as an object with only the allowed fields, else a 400 naming the first other one."""
    if not isinstance(data, dict):
        raise ValidationError({"non_field_errors": ["Expected a JSON object."]})
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ValidationError({unknown[0]: [f"Unknown field; expected one of {', '.join(allowed)}."]})
    return data


# Output ----------------------------------------------------------------------------------------------------

class AlertSubjectOutput(serializers.Serializer):
    type = serializers.CharField(help_text="TRADE, ACCOUNT, CASH_MOVEMENT or FAIL")
    id = serializers.IntegerField()
    label = serializers.CharField()


class AlertOutput(serializers.Serializer):
    id = serializers.IntegerField()
    rule = serializers.CharField(source="rule.code", help_text="The code of the rule that raised it.")
    rule_version = serializers.IntegerField(help_text="The rule's version when it raised the alert.")
    kind = serializers.CharField(help_text="The rule's kind (RuleKind).")
    severity = serializers.CharField(help_text="LOW, MEDIUM, HIGH or CRITICAL: sets the SLA.")
    subject = serializers.SerializerMethodField()
    account = serializers.CharField(source="account.code", allow_null=True, default=None)
    instrument = serializers.CharField(source="instrument.isin", allow_null=True, default=None, help_text="ISIN")
    business_date = serializers.DateField(help_text="The trade date (or value date) the alert is about.")
    summary = serializers.CharField()
    evidence = serializers.JSONField(help_text='{"records": [{"type", "id", "label"}], "figures": {name: value}}')
    state = serializers.CharField(help_text="OPEN, INVESTIGATING, ESCALATED or CLOSED.")
    owner = serializers.CharField(source="owner.username", allow_null=True, default=None)
    disposition = serializers.CharField(help_text="What was found and done: set when CLOSED.")
    opened_at = serializers.DateTimeField()
    due_at = serializers.DateTimeField(help_text="When its SLA runs out: opened_at plus the hours of its severity.")
    age_hours = serializers.SerializerMethodField(help_text="Hours open (to closed_at once CLOSED), one decimal.")
    sla_breached = serializers.SerializerMethodField(help_text="Still open after due_at, or closed after it.")
    escalated_at = serializers.DateTimeField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)

    def _sla(self, alert) -> selectors.Sla:
        now = self.context.setdefault("now", timezone.now())
        return selectors.alert_sla(alert, now)

    def get_subject(self, alert) -> AlertSubjectOutput:
        return selectors.alert_subject(alert)

    def get_age_hours(self, alert) -> float:
        return self._sla(alert).age_hours

    def get_sla_breached(self, alert) -> bool:
        return self._sla(alert).breached


class AlertEventOutput(serializers.Serializer):
    at = serializers.DateTimeField()
    actor = serializers.CharField(source="actor_label")
    action = serializers.CharField(help_text="OPEN, ASSIGN, INVESTIGATE, ESCALATE, CLOSE, REOPEN or NOTE.")
    from_state = serializers.CharField()
    to_state = serializers.CharField()
    owner = serializers.CharField(source="owner.username", allow_null=True, default=None)
    note = serializers.CharField()


class AlertDetailOutput(AlertOutput):
    history = serializers.SerializerMethodField()

    def get_history(self, alert) -> AlertEventOutput(many=True):
        return AlertEventOutput(selectors.alert_events(alert), many=True).data


# Input -----------------------------------------------------------------------------------------------------

class TextInput(serializers.CharField):
    """Text a person typed (line breaks allowed): a JSON string only, never a number turned into text."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class AlertAssignInput(serializers.Serializer):
    owner = StrictCharField(max_length=150, help_text="The username of a compliance officer.")


class AlertBulkAssignInput(serializers.Serializer):
    ids = serializers.ListField(child=serializers.IntegerField(min_value=1), allow_empty=False,
                                max_length=services.BULK_MAX, help_text="The alerts' ids.")
    owner = StrictCharField(max_length=150, help_text="The username of a compliance officer.")


class AlertNoteInput(serializers.Serializer):
    note = TextInput(max_length=services.NOTE_MAX_LENGTH, trim_whitespace=False,
                                 help_text="Required; line breaks allowed.")


class AlertDispositionInput(serializers.Serializer):
    disposition = TextInput(max_length=services.NOTE_MAX_LENGTH, trim_whitespace=False,
                                        help_text="What was found and done (required).")


class AlertReasonInput(serializers.Serializer):
    reason = TextInput(max_length=services.NOTE_MAX_LENGTH, trim_whitespace=False,
                                   help_text="Why it is reopened (required).")


class AlertBulkAssignOutput(serializers.Serializer):
    owner = serializers.CharField()
    assigned = serializers.ListField(child=serializers.IntegerField(), help_text="Now the owner's.")
    unchanged = serializers.ListField(child=serializers.IntegerField(), help_text="Were the owner's already.")
    skipped_closed = serializers.ListField(child=serializers.IntegerField(), help_text="CLOSED: not reassigned.")


# Filters ---------------------------------------------------------------------------------------------------

class AlertFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(
        choices=[*AlertState.choices, (NOT_CLOSED, "Not closed (open, investigating or escalated)")],
        method="_status", help_text="The state; NOT_CLOSED: any of the open ones.")
    severity = django_filters.ChoiceFilter(choices=Severity.choices)
    rule = django_filters.CharFilter(method="_rule", help_text="The rule's code.")
    kind = django_filters.ChoiceFilter(choices=RuleKind.choices)
    account = django_filters.CharFilter(method="_account", help_text="The account's code.")
    instrument = django_filters.CharFilter(method="_instrument", help_text="ISIN")
    owner = django_filters.CharFilter(method="_owner", help_text=f"A username, or {selectors.UNASSIGNED}.")
    date_from = StrictDateFilter(method="_date_from", help_text="Opened on or after this day.")
    date_to = StrictDateFilter(method="_date_to", help_text="Opened on or before this day.")
    overdue = django_filters.BooleanFilter(method="_overdue", help_text="true: open and past due_at; false: not.")

    class Meta:
        model = Alert
        fields = ["status", "severity", "rule", "kind", "account", "instrument", "owner", "date_from", "date_to",
                  "overdue"]

    def _status(self, queryset, name, value):
        states = list(selectors.OPEN_STATES) if value == NOT_CLOSED else [value]
        return queryset.filter(state__in=states)

    def _rule(self, queryset, name, value):
        if not selectors.rule_code_exists(value):
            raise ValidationError({"rule": [f"No rule with code {value!r}."]})
        return queryset.filter(rule__code=value)

    def _account(self, queryset, name, value):
        account = reference_selectors.account_get(value) if value.isprintable() else None
        if account is None:
            raise ValidationError({"account": [f"Unknown account {value!r}."]})
        return queryset.filter(account=account)

    def _instrument(self, queryset, name, value):
        instrument = reference_selectors.instrument_get(value) if value.isprintable() else None
        if instrument is None:
            raise ValidationError({"instrument": [f"Unknown instrument {value!r} (give its ISIN)."]})
        return queryset.filter(instrument=instrument)

    def _owner(self, queryset, name, value):
        if value == selectors.UNASSIGNED:
            return queryset.filter(owner__isnull=True)
        if not value.isprintable() or not selectors.user_exists(value):
            raise ValidationError({"owner": [f"No user {value!r}."]})
        return queryset.filter(owner__username=value)

    def _date_from(self, queryset, name, value):
        return queryset.filter(opened_at__gte=selectors.day_bounds(value)[0])

    def _date_to(self, queryset, name, value):
        return queryset.filter(opened_at__lt=selectors.day_bounds(value)[1])

    def _overdue(self, queryset, name, value):
        breached = selectors.overdue_q(timezone.now())
        return queryset.filter(breached) if value else queryset.exclude(breached)


# Views -----------------------------------------------------------------------------------------------------

def _alert_or_404(alert_id: int) -> Alert:
    alert = selectors.alert_get(alert_id)
    if alert is None:
        raise Http404
    return alert


def _detail(alert_id: int) -> Response:
    return Response(AlertDetailOutput(_alert_or_404(alert_id)).data)


class AlertListApi(generics.ListAPIView):
    permission_classes = [AlertRole]
    serializer_class = AlertOutput
    filterset_class = AlertFilter

    def get_queryset(self):
        return selectors.alert_list()

    @extend_schema(description="Alerts, newest first. An unknown rule, account, owner or choice, or a malformed "
                               "date, is a 400.")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class AlertDetailApi(generics.GenericAPIView):
    permission_classes = [AlertRole]
    serializer_class = AlertDetailOutput

    @extend_schema(description="One alert with its evidence and its history (every step of its case).")
    def get(self, request, alert_id: int):
        return _detail(alert_id)


_CONFLICT = OpenApiResponse(description="The alert's state forbids this step (e.g. closing a CLOSED alert).")


class AlertStepApi(generics.GenericAPIView):
    """One step of a case: parse the body with input_class, call the service, answer the alert."""

    permission_classes = [AlertRole]
    serializer_class = AlertDetailOutput
    input_class: type[serializers.Serializer] | None = None

    def step(self, request, alert: Alert, data: dict):
        raise NotImplementedError

    def post(self, request, alert_id: int):
        alert = _alert_or_404(alert_id)
        data = {}
        if self.input_class is not None:
            body = self.input_class(data=_only(request.data, tuple(self.input_class().fields)))
            body.is_valid(raise_exception=True)
            data = body.validated_data
        else:
            _only(request.data or {}, ())
        self.step(request, alert, data)
        return _detail(alert.pk)


class AlertAssignApi(AlertStepApi):
    input_class = AlertAssignInput

    @extend_schema(request=AlertAssignInput, responses={200: AlertDetailOutput, 409: _CONFLICT, 400: OpenApiResponse(
        description="An unknown user, or one without the compliance role.")},
        description="Give the alert to a compliance officer; its state is kept. Allowed until it is CLOSED.")
    def post(self, request, alert_id: int):
        return super().post(request, alert_id)

    def step(self, request, alert, data):
        services.alert_assign(actor=request.user, alert_id=alert.pk, owner=data["owner"])


class AlertInvestigateApi(AlertStepApi):
    @extend_schema(request=None, responses={200: AlertDetailOutput, 409: _CONFLICT},
                   description="OPEN -> INVESTIGATING; the caller becomes its owner if it has none.")
    def post(self, request, alert_id: int):
        return super().post(request, alert_id)

    def step(self, request, alert, data):
        services.alert_investigate(actor=request.user, alert_id=alert.pk)


class AlertEscalateApi(AlertStepApi):
    input_class = AlertNoteInput

    @extend_schema(request=AlertNoteInput, responses={200: AlertDetailOutput, 409: _CONFLICT},
                   description="OPEN or INVESTIGATING -> ESCALATED; the note (required) says why.")
    def post(self, request, alert_id: int):
        return super().post(request, alert_id)

    def step(self, request, alert, data):
        services.alert_escalate(actor=request.user, alert_id=alert.pk, note=data["note"])


class AlertCloseApi(AlertStepApi):
    input_class = AlertDispositionInput

    @extend_schema(request=AlertDispositionInput, responses={200: AlertDetailOutput, 409: _CONFLICT},
                   description="Close an open alert (OPEN, INVESTIGATING or ESCALATED) with its disposition "
                               "(required, non-blank, at most 2000 characters, no control characters).")
    def post(self, request, alert_id: int):
        return super().post(request, alert_id)

    def step(self, request, alert, data):
        services.alert_close(actor=request.user, alert_id=alert.pk, disposition=data["disposition"])


class AlertReopenApi(AlertStepApi):
    input_class = AlertReasonInput

    @extend_schema(request=AlertReasonInput, responses={200: AlertDetailOutput, 409: _CONFLICT},
                   description="CLOSED -> INVESTIGATING; the reason is required. Its history keeps the disposition.")
    def post(self, request, alert_id: int):
        return super().post(request, alert_id)

    def step(self, request, alert, data):
        services.alert_reopen(actor=request.user, alert_id=alert.pk, reason=data["reason"])


class AlertNoteApi(AlertStepApi):
    input_class = AlertNoteInput

    @extend_schema(request=AlertNoteInput, responses={200: AlertDetailOutput},
                   description="Add a note to the alert's history (any state).")
    def post(self, request, alert_id: int):
        return super().post(request, alert_id)

    def step(self, request, alert, data):
        services.alert_note(actor=request.user, alert_id=alert.pk, note=data["note"])


class AlertBulkAssignApi(generics.GenericAPIView):
    permission_classes = [AlertRole]
    serializer_class = AlertBulkAssignOutput

    @extend_schema(operation_id="v1_compliance_alerts_bulk_assign", request=AlertBulkAssignInput, responses={
        200: AlertBulkAssignOutput, 400: OpenApiResponse(
        description="No ids, an unknown id, more than 1000, an owner without the compliance role.")},
        description="Give many alerts to one compliance officer at once (set-based). CLOSED ones are skipped and "
                    "listed; those the owner has already are listed as unchanged.")
    def post(self, request):
        body = AlertBulkAssignInput(data=_only(request.data, ("ids", "owner")))
        body.is_valid(raise_exception=True)
        result = services.alerts_assign_bulk(actor=request.user, alert_ids=body.validated_data["ids"],
                                             owner=body.validated_data["owner"])
        return Response(AlertBulkAssignOutput({"owner": body.validated_data["owner"], "assigned": result.assigned,
                                          "unchanged": result.unchanged,
                                          "skipped_closed": result.skipped_closed}).data)


urlpatterns = [
    path("compliance/alerts/", AlertListApi.as_view(), name="api-compliance-alerts"),
    path("compliance/alerts/assign/", AlertBulkAssignApi.as_view(), name="api-compliance-alerts-assign"),
    path("compliance/alerts/<int:alert_id>/", AlertDetailApi.as_view(), name="api-compliance-alert"),
    path("compliance/alerts/<int:alert_id>/assign/", AlertAssignApi.as_view(), name="api-compliance-alert-assign"),
    path("compliance/alerts/<int:alert_id>/investigate/", AlertInvestigateApi.as_view(),
         name="api-compliance-alert-investigate"),
    path("compliance/alerts/<int:alert_id>/escalate/", AlertEscalateApi.as_view(),
         name="api-compliance-alert-escalate"),
    path("compliance/alerts/<int:alert_id>/close/", AlertCloseApi.as_view(), name="api-compliance-alert-close"),
    path("compliance/alerts/<int:alert_id>/reopen/", AlertReopenApi.as_view(), name="api-compliance-alert-reopen"),
    path("compliance/alerts/<int:alert_id>/notes/", AlertNoteApi.as_view(), name="api-compliance-alert-notes"),
]
