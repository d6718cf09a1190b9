"""The stock record: positions per account and instrument, and the stock movements not caused by trades."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from backoffice.core.fields import QuantityField
from records.reference.models import Account, Instrument


class Position(models.Model):
    """The stock record: one row per account and instrument, kept in step with its movements.

    traded_quantity is the trade-date position (booked trades and stock movements);
    settled_quantity counts settled movements only. Invariant:
    traded_quantity = settled_quantity + pending_receipt - pending_delivery.
    """

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="positions")
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="positions")
    traded_quantity = QuantityField(default=0)
    settled_quantity = QuantityField(default=0)
    # Booked but unsettled buys (to receive) and sells (to deliver), gross.
    pending_receipt = QuantityField(default=0)
    pending_delivery = QuantityField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["account_id", "instrument_id"]
        constraints = [
            models.UniqueConstraint(fields=["account", "instrument"], name="position_unique"),
            models.CheckConstraint(condition=Q(pending_receipt__gte=0) & Q(pending_delivery__gte=0),
                                   name="position_pending_gte_0"),
        ]

    def __str__(self):
        return f"{self.account_id}/{self.instrument_id} {self.traded_quantity}"


class StockMovement(models.Model):
    """A movement of securities not caused by a trade: opening balances, transfers, adjustments."""

    class Kind(models.TextChoices):
        OPENING = "OPENING", "Opening position"
        ADJUSTMENT = "ADJUSTMENT", "Adjustment"
        TRANSFER = "TRANSFER", "Transfer"

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="stock_movements")
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="stock_movements")
    quantity = QuantityField()
    value_date = models.DateField()
    kind = models.CharField(max_length=12, choices=Kind.choices)
    reference = models.CharField(max_length=100, unique=True)
    description = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-value_date", "-id"]
        constraints = [models.CheckConstraint(condition=~Q(quantity=0), name="stockmovement_qty_not_0")]

    def __str__(self):
        return f"{self.reference} {self.account_id}/{self.instrument_id} {self.quantity}"
