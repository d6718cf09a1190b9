"""Alerts and their cases: what a rule found, who looks into it, and how it ended.

An alert is raised by a rule (a surveillance scenario, or a pre-trade rule whose action is ALERT) about a
subject (a trade, an account, a cash movement, a fail) with its evidence: the records that triggered it,
each linked. ``dedupe_key`` names what the alert is about for its rule (the subject, or the group of trades
of a pattern): a rerun finds the alert already there and raises nothing (unique per rule). Its case moves
OPEN -> INVESTIGATING -> ESCALATED -> CLOSED (closing needs a disposition note); every step is an AlertEvent
and an audit record. ``due_at`` is the SLA: opened_at plus the hours its severity allows
(settings.COMPLIANCE_ALERT_SLA_HOURS).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from compliance.rules.models import ComplianceRule, Severity
from records.reference.models import Account, Instrument


class AlertState(models.TextChoices):
    OPEN = "OPEN", "Open"
    INVESTIGATING = "INVESTIGATING", "Investigating"
    ESCALATED = "ESCALATED", "Escalated"
    CLOSED = "CLOSED", "Closed"


class SubjectType(models.TextChoices):
    TRADE = "TRADE", "Trade"
    ACCOUNT = "ACCOUNT", "Account"
    CASH_MOVEMENT = "CASH_MOVEMENT", "Cash movement"
    FAIL = "FAIL", "Settlement fail"


class Alert(models.Model):
    rule = models.ForeignKey(ComplianceRule, on_delete=models.PROTECT, related_name="alerts")
    rule_version = models.PositiveIntegerField()
    kind = models.CharField(max_length=20)  # the rule's kind when raised
    severity = models.CharField(max_length=8, choices=Severity.choices)
    subject_type = models.CharField(max_length=14, choices=SubjectType.choices)
    subject_id = models.BigIntegerField()
    dedupe_key = models.CharField(max_length=200)
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    instrument = models.ForeignKey(Instrument, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    business_date = models.DateField(help_text="The trade date (or value date) the alert is about.")
    summary = models.CharField(max_length=500)
    # [{"type": "TRADE", "id": 12, "label": "BUY 100 AAPL @ 190"}, ...] and the figures that matter.
    evidence = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=14, choices=AlertState.choices, default=AlertState.OPEN)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="compliance_alerts")
    disposition = models.TextField(blank=True)
    job_id = models.BigIntegerField(null=True, blank=True, help_text="The surveillance run that raised it.")
    opened_at = models.DateTimeField()
    due_at = models.DateTimeField(help_text="When its SLA runs out (by severity).")
    escalated_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "dedupe_key"], name="alert_unique_per_rule_subject"),
            models.CheckConstraint(condition=~Q(state="CLOSED") | ~Q(disposition=""), name="alert_closed_disposition"),
        ]
        indexes = [
            models.Index(fields=["state", "due_at"], name="alert_state_due_idx"),
            models.Index(fields=["business_date", "id"], name="alert_date_idx"),
            models.Index(fields=["account", "id"], name="alert_account_idx"),
            models.Index(fields=["subject_type", "subject_id"], name="alert_subject_idx"),
        ]

    def __str__(self):
        return f"Alert {self.pk} {self.kind} {self.subject_type} {self.subject_id}"


class AlertEvent(models.Model):
    """One step of an alert's case (append-only): raised, assigned, investigating, escalated, closed, noted."""

    class Action(models.TextChoices):
        OPEN = "OPEN", "Opened"
        ASSIGN = "ASSIGN", "Assigned"
        INVESTIGATE = "INVESTIGATE", "Investigation started"
        ESCALATE = "ESCALATE", "Escalated"
        CLOSE = "CLOSE", "Closed"
        REOPEN = "REOPEN", "Reopened"
        NOTE = "NOTE", "Note"

    alert = models.ForeignKey(Alert, on_delete=models.PROTECT, related_name="events")
    at = models.DateTimeField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+")
    actor_label = models.CharField(max_length=150)
    action = models.CharField(max_length=12, choices=Action.choices)
    from_state = models.CharField(max_length=14, blank=True)
    to_state = models.CharField(max_length=14)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+")
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["alert_id", "at", "id"]
        indexes = [models.Index(fields=["alert", "at"], name="alertevent_alert_idx")]

    def __str__(self):
        return f"{self.alert_id} {self.action}"
