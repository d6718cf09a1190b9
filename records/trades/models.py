"""The trade blotter: trades, their superseded versions and their lifecycle events."""

from decimal import localcontext

from django.conf import settings
from django.db import models
from django.db.models import Q

from backoffice.core.fields import AmountField, PriceField, QuantityField
from records.reference.exchanges import market_date_at
from records.reference.models import Account, Counterparty, Instrument


class Trade(models.Model):
    """A trade booked from a front-office system: the trade blotter. Never deleted.

    The row holds the current version; earlier versions are kept in TradeVersion, every
    lifecycle step in TradeEvent.
    """

    class Side(models.TextChoices):
        BUY = "BUY", "Buy"
        SELL = "SELL", "Sell"

    class Status(models.TextChoices):
        NEW = "NEW", "New"
        BOOKED = "BOOKED", "Booked"
        REJECTED = "REJECTED", "Rejected"
        HELD = "HELD", "Held"
        CLEARED = "CLEARED", "Cleared"
        SETTLED = "SETTLED", "Settled"
        PARTIALLY_SETTLED = "PARTIALLY_SETTLED", "Partially settled"
        FAILED = "FAILED", "Failed"
        CANCELLED = "CANCELLED", "Cancelled"

    class MatchStatus(models.TextChoices):
        UNMATCHED = "UNMATCHED", "Unmatched"
        MATCHED = "MATCHED", "Matched"
        MISMATCHED = "MISMATCHED", "Mismatched"

    # Statuses few trades are in at any time (held, rejected, cancelled, failing): no index of the blotter
    # may name status (see Meta), so the blotter and the dashboards find these trades through their lifecycle
    # events (TradeEvent's tradeevent_rare_status_idx: every change of status writes an event to it).
    RARE_STATUSES = ("NEW", "HELD", "REJECTED", "CANCELLED", "PARTIALLY_SETTLED", "FAILED")
    # Statuses whose trades count in the trade-date position.
    POSITION_STATUSES = ("BOOKED", "CLEARED", "SETTLED", "PARTIALLY_SETTLED", "FAILED")
    # Statuses in which a trade may still be amended or cancelled.
    AMENDABLE_STATUSES = ("BOOKED", "HELD")
    # What an amendment may change; each is kept per version in TradeVersion.
    AMENDABLE_FIELDS = ("quantity", "price", "settlement_date", "commission")

    external_ref = models.CharField(max_length=64)
    # No single-column indexes on the foreign keys: the composite indexes below lead with each of
    # them, and every index costs on a blotter taking a million inserts a day.
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                     db_index=False)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="trades", db_index=False)
    counterparty = models.ForeignKey(Counterparty, on_delete=models.PROTECT, related_name="trades", db_index=False)
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="trades", db_index=False)
    side = models.CharField(max_length=4, choices=Side.choices)
    quantity = QuantityField()
    price = PriceField()
    currency = models.CharField(max_length=3)
    trade_date = models.DateField()
    settlement_date = models.DateField()
    commission = AmountField(default=0)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NEW)
    match_status = models.CharField(max_length=12, choices=MatchStatus.choices, default=MatchStatus.UNMATCHED)
    version = models.PositiveIntegerField(default=1)
    settled_quantity = QuantityField(default=0)
    # SHA-256 of the submitted body in canonical form: an identical resubmission is recognised.
    request_hash = models.CharField(max_length=64)
    hold_reasons = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            # One index for idempotency (submitter and ref), the blotter's exact ref search and its
            # prefix search ("ABC*"): pattern ops, since LIKE 'ABC%' can use a plain btree only
            # under the C collation (not C.UTF-8 or any other).
            models.UniqueConstraint(fields=["external_ref", "submitted_by"], name="trade_unique_ref_per_submitter",
                                    opclasses=["varchar_pattern_ops", "int4_ops"]),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="trade_quantity_gt_0"),
            models.CheckConstraint(condition=Q(price__gt=0), name="trade_price_gt_0"),
            models.CheckConstraint(condition=Q(commission__gte=0), name="trade_commission_gte_0"),
            models.CheckConstraint(condition=Q(settlement_date__gte=models.F("trade_date")),
                                   name="trade_settles_on_or_after_trade_date"),
            models.CheckConstraint(condition=Q(settled_quantity__gte=0) & Q(settled_quantity__lte=models.F("quantity")),
                                   name="trade_settled_quantity_within_quantity"),
        ]
        # No index holds a column that netting or settlement change (status, match_status,
        # settled_quantity, updated_at), and the table keeps half of each page free (fillfactor 50,
        # set by migration records 0017): a trade's status changes are then HOT updates, a new row
        # version in the same page and no index entry, instead of a new entry in each of eight
        # indexes. An index whose key, expression or predicate names status would undo that for
        # every trade (PostgreSQL 15 counts all three), so none may; tests/records hold the set.
        indexes = [
            models.Index(fields=["trade_date", "id"], name="trade_date_idx"),
            models.Index(fields=["account", "instrument", "trade_date"], name="trade_position_idx"),
            # Netting's selection: a settlement date's trades, a chunk's range of instruments.
            models.Index(fields=["settlement_date", "instrument"], name="trade_settle_date_idx"),
            models.Index(fields=["instrument", "id"], name="trade_instrument_idx"),
            models.Index(fields=["counterparty", "id"], name="trade_counterparty_idx"),
            models.Index(fields=["account", "id"], name="trade_account_idx"),
        ]

    def __str__(self):
        return f"#{self.pk} {self.external_ref} {self.side} {self.quantity} {self.instrument_id}"

    @property
    def gross_amount(self):
        """Quantity times price, exact (no rounding to the context's 28 digits)."""
        with localcontext() as ctx:
            ctx.prec = 80
            return self.quantity * self.price

    @property
    def is_as_of(self) -> bool:
        """Booked after its trade date: the trade date is before the market's date when it was booked.

        Derived from created_at, so it needs no column and cannot drift from the row.
        """
        if self.created_at is None:
            return False
        return self.trade_date < market_date_at(mic=self.instrument.market_id, at=self.created_at)


class TradeVersion(models.Model):
    """A superseded version of a trade, kept when an amendment replaces it."""

    trade = models.ForeignKey(Trade, on_delete=models.PROTECT, related_name="versions")
    version = models.PositiveIntegerField()
    quantity = QuantityField()
    price = PriceField()
    settlement_date = models.DateField()
    commission = AmountField()
    status = models.CharField(max_length=20)
    superseded_at = models.DateTimeField()
    superseded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["trade_id", "version"]
        constraints = [models.UniqueConstraint(fields=["trade", "version"], name="tradeversion_unique")]

    def __str__(self):
        return f"#{self.trade_id} v{self.version}"


class TradeEvent(models.Model):
    """One step of a trade's lifecycle: who, when, from and to which status, why."""

    class Action(models.TextChoices):
        BOOK = "BOOK", "Booked"
        HOLD = "HOLD", "Held by pre-trade checks"
        RELEASE = "RELEASE", "Released"
        REJECT = "REJECT", "Rejected"
        AMEND = "AMEND", "Amended"
        CANCEL = "CANCEL", "Cancelled"
        CLEAR = "CLEAR", "Cleared"
        SETTLE = "SETTLE", "Settled"
        PARTIAL = "PARTIAL", "Partially settled"
        FAIL = "FAIL", "Failed"
        MATCH = "MATCH", "Matched"

    trade = models.ForeignKey(Trade, on_delete=models.PROTECT, related_name="events", db_index=False)
    at = models.DateTimeField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+", db_index=False)
    actor_label = models.CharField(max_length=150)
    action = models.CharField(max_length=10, choices=Action.choices)
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["trade_id", "at", "id"]
        indexes = [
            models.Index(fields=["trade", "at"], name="tradeevent_trade_idx"),
            # The trades that entered a rare status (Trade.RARE_STATUSES): what the blotter filtered by one of
            # them walks, instead of an index of trades by status (which would make every status change of
            # netting and settlement a non-HOT update). Events are never updated: this costs only their inserts.
            models.Index(fields=["to_status", "trade"], name="tradeevent_rare_status_idx",
                         condition=Q(to_status__in=Trade.RARE_STATUSES)),
        ]

    def __str__(self):
        return f"#{self.trade_id} {self.action} {self.from_status}->{self.to_status}"
