"""Records retention: retention policies per record type, and legal holds that block the purge."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from records.reference.models import Account, Instrument


class RetentionPolicy(models.Model):
    """How long records of one type are kept (SEC Rule 17a-4 defaults, editable by admins)."""

    record_type = models.CharField(max_length=100, unique=True, help_text="app_label.model, e.g. records.trade")
    retention_years = models.PositiveSmallIntegerField()
    rule = models.CharField(max_length=200, blank=True, help_text="The rule the period comes from.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["record_type"]
        verbose_name_plural = "retention policies"
        constraints = [models.CheckConstraint(condition=Q(retention_years__gte=1), name="retention_at_least_1y")]

    def __str__(self):
        return f"{self.record_type}: {self.retention_years} years"


class LegalHold(models.Model):
    """A hold that blocks purging: of an account's records, an instrument's, or one record."""

    class Scope(models.TextChoices):
        ACCOUNT = "ACCOUNT", "Account"
        INSTRUMENT = "INSTRUMENT", "Instrument"
        RECORD = "RECORD", "Single record"

    scope = models.CharField(max_length=10, choices=Scope.choices)
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.PROTECT, related_name="legal_holds")
    instrument = models.ForeignKey(Instrument, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="legal_holds")
    record_type = models.CharField(max_length=100, blank=True)
    record_id = models.CharField(max_length=100, blank=True)
    reason = models.TextField()
    matter = models.CharField(max_length=100, blank=True, help_text="Case or matter reference.")
    placed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    placed_at = models.DateTimeField()
    released_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    released_at = models.DateTimeField(null=True, blank=True)
    release_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-placed_at"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(scope="ACCOUNT", account__isnull=False)
                           | Q(scope="INSTRUMENT", instrument__isnull=False)
                           | (Q(scope="RECORD") & ~Q(record_type="") & ~Q(record_id=""))),
                name="legalhold_scope_has_target",
            ),
        ]

    def __str__(self):
        target = self.account_id or self.instrument_id or f"{self.record_type}#{self.record_id}"
        return f"hold {self.scope} {target}"

    @property
    def is_active(self) -> bool:
        return self.released_at is None
