"""The restricted list: instruments the firm may not trade over a range of trade dates.

An entry restricts trades whose trade date is in [effective_from, effective_to] (effective_to null:
open-ended). Entries are never deleted: ending one (restricted_end) records who ended it, when and
why, and either moves effective_to to yesterday (the entry had already started: it stops restricting
from today on, and its past stays on record) or, for an entry that had not started yet, marks it
withdrawn (it never restricted anything).
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from records.reference.models import Instrument


class RestrictedInstrument(models.Model):
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="restrictions")
    reason = models.CharField(max_length=500, help_text="Why it is restricted: shown with every refused trade.")
    effective_from = models.DateField(help_text="The first trade date restricted.")
    effective_to = models.DateField(null=True, blank=True, help_text="The last trade date restricted; "
                                                                     "empty: until ended.")
    withdrawn = models.BooleanField(default=False, help_text="Ended before it started: it never restricted.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    ended_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+")
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-effective_from", "-id"]
        verbose_name = "restricted instrument"
        indexes = [models.Index(fields=["instrument", "effective_from"], name="restricted_instrument_from")]
        constraints = [
            models.CheckConstraint(condition=Q(effective_to__isnull=True) | Q(effective_to__gte=F("effective_from")),
                                   name="restricted_effective_range"),
        ]

    def __str__(self):
        return f"Restricted {self.instrument_id} from {self.effective_from}"

    def restricts(self, day) -> bool:
        """Whether the entry restricts trades dated day."""
        return (not self.withdrawn and self.effective_from <= day
                and (self.effective_to is None or day <= self.effective_to))

    def state_on(self, today) -> str:
        """WITHDRAWN, ENDED (its last day is past), FUTURE (not started) or ACTIVE, as of today."""
        if self.withdrawn:
            return "WITHDRAWN"
        if self.effective_to is not None and self.effective_to < today:
            return "ENDED"
        return "FUTURE" if self.effective_from > today else "ACTIVE"
