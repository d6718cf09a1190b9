"""Maker-checker: a manual change proposed by one user, applied when another approves it."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class ChangeRequest(models.Model):
    """A manual change proposed by one user (maker) that takes effect when another approves (checker)."""

    class Status(models.TextChoices):
        PENDING = "PENDING", "Pending"
        APPROVED = "APPROVED", "Approved"
        REJECTED = "REJECTED", "Rejected"
        FAILED = "FAILED", "Approved but could not be applied"
        WITHDRAWN = "WITHDRAWN", "Withdrawn"

    kind = models.CharField(max_length=60, db_index=True, help_text="What the change does, e.g. account.update.")
    target_type = models.CharField(max_length=100, blank=True)
    target_id = models.CharField(max_length=100, blank=True)
    summary = models.CharField(max_length=300)
    payload = models.JSONField(help_text="The change, as the service that applies it takes it.")
    # What the target looked like when the change was proposed: approvers see the diff.
    before = models.JSONField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    reason = models.TextField(help_text="Why the maker proposes it.")
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    proposed_at = models.DateTimeField()
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    result = models.JSONField(null=True, blank=True, help_text="What applying it produced, or the error.")

    class Meta:
        ordering = ["-proposed_at", "-id"]
        indexes = [models.Index(fields=["status", "kind"], name="changerequest_status_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(decided_by__isnull=True) | ~Q(decided_by=models.F("proposed_by")),
                                   name="changerequest_four_eyes"),
        ]

    def __str__(self):
        return f"#{self.pk} {self.kind} {self.status}"
