"""Short sales: locates and borrows recorded per account and instrument, and the Reg SHO penalty box.

A sale the account's trade-date position does not cover is short (Reg SHO Rule 200); the SHORT_SALE rule
then wants the short position after the trade covered by the locates and borrows in force on its trade
date (Rule 203(b)(1)). A locate is good for the day it was given (valid_to defaults to valid_from); a borrow
until it is returned (valid_to empty until then).

An account that let a fail to deliver run past its Rule 204 close-out deadline is put in the penalty box
(Rule 204(b)) for that instrument by the surveillance job: until released, its short sales there need a
BORROW (a pre-borrow), a locate is not enough, and without one they are rejected whatever the rule's action.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from backoffice.core.fields import QuantityField
from records.reference.models import Account, Instrument


class Locate(models.Model):
    class Kind(models.TextChoices):
        LOCATE = "LOCATE", "Locate"
        BORROW = "BORROW", "Borrow"

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=6, choices=Kind.choices)
    quantity = QuantityField()
    source = models.CharField(max_length=200, help_text="Who located or lent the shares.")
    reference = models.CharField(max_length=100, unique=True, help_text="The lender's or desk's reference.")
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True, help_text="Last trade date it covers; empty: until returned.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    ended_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+")
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-valid_from", "-id"]
        indexes = [models.Index(fields=["account", "instrument", "valid_from"], name="locate_acct_instr_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="locate_quantity_gt_0"),
            models.CheckConstraint(condition=Q(valid_to__isnull=True) | Q(valid_to__gte=F("valid_from")),
                                   name="locate_valid_range"),
        ]

    def __str__(self):
        return f"{self.kind} {self.reference}"

    def covers(self, day) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


class PenaltyBoxEntry(models.Model):
    """An account under Rule 204(b)'s pre-borrow requirement for an instrument, because of one fail."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="+")
    fail_id = models.BigIntegerField(unique=True, help_text="The fail to deliver past its close-out deadline.")
    close_out_deadline = models.DateField()
    since = models.DateField(help_text="The day the surveillance run found the deadline missed.")
    reason = models.CharField(max_length=500)
    released_on = models.DateField(null=True, blank=True)
    released_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    release_reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-since", "-id"]
        verbose_name = "penalty box entry"
        verbose_name_plural = "penalty box"
        indexes = [models.Index(fields=["account", "instrument"], name="penaltybox_acct_instr_idx",
                                condition=Q(released_on__isnull=True))]

    def __str__(self):
        return f"Penalty box {self.account_id}/{self.instrument_id} (fail {self.fail_id})"
