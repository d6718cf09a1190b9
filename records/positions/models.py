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


class PendingSettlementTotal(models.Model):
    """What the trades of one account still have to settle in one instrument and currency on one date.

    Read-only: PostgreSQL keeps the table (records migration 0019) from statement-level triggers on the trades, so
    it always equals the sums of the unsettled part of the trades booked, cleared, failed or partly settled. A row
    exists while `trades` > 0. Unmanaged: the migration's SQL owns the table, its key and its triggers.
    """

    settlement_date = models.DateField()
    instrument = models.ForeignKey(Instrument, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False)
    currency = models.CharField(max_length=3)
    account = models.ForeignKey(Account, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False)
    # Unsettled quantity of the buys (to receive) and of the sells (to deliver).
    receive = models.DecimalField(max_digits=24, decimal_places=6)
    deliver = models.DecimalField(max_digits=24, decimal_places=6)
    # That quantity at each trade's price, exact: what the buys still cost and the sells still bring in.
    cash_out = models.DecimalField(max_digits=48, decimal_places=14)
    cash_in = models.DecimalField(max_digits=48, decimal_places=14)
    trades = models.BigIntegerField()

    class Meta:
        managed = False
        db_table = "records_pendingsettlement"
        ordering = ["settlement_date", "instrument_id", "currency", "account_id"]

    def __str__(self):
        return f"{self.settlement_date} {self.instrument_id} {self.currency} {self.account_id}: {self.trades} trades"
