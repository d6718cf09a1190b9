"""Clearing: counterparties' confirmations matched to our trades, netting runs and their net obligations.

See docs/architecture.md ("Clearing") and ../DESIGN.md §5. Trades stay in records; clearing links to
them (a confirmation's trade, an obligation's trades) and moves them on through records' services.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from backoffice.core.fields import AmountField, PriceField, QuantityField
from backoffice.core.jobs.models import JobRun
from records.reference.models import Account, Counterparty, Instrument
from records.trades.models import Trade


class MatchTolerance(models.Model):
    """How far a confirmation's price may be from ours and still match, per asset class (basis points of our price).

    An asset class without a row matches on the exact price.
    """

    asset_class = models.CharField(max_length=20, choices=Instrument.AssetClass.choices, unique=True)
    price_tolerance_bps = models.DecimalField(
        "price tolerance (bp)", max_digits=8, decimal_places=4,
        help_text="Largest accepted difference between the two prices, in basis points of our price (1 bp = 0.01%).")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["asset_class"]
        constraints = [models.CheckConstraint(condition=Q(price_tolerance_bps__gte=0),
                                              name="matchtolerance_bps_gte_0")]

    def __str__(self):
        return f"{self.asset_class}: {self.price_tolerance_bps} bp"


class Confirmation(models.Model):
    """A counterparty's confirmation of a trade, as they booked it (their side), and how it matched ours."""

    class MatchStatus(models.TextChoices):
        UNMATCHED = "UNMATCHED", "Unmatched"
        MATCHED = "MATCHED", "Matched"
        MISMATCHED = "MISMATCHED", "Mismatched"
        REJECTED = "REJECTED", "Rejected"

    class Resolution(models.TextChoices):
        FORCE_MATCHED = "FORCE_MATCHED", "Force-matched"
        REJECTED = "REJECTED", "Rejected"
        NEW_REQUESTED = "NEW_REQUESTED", "New confirmation requested"

    class Source(models.TextChoices):
        API = "API", "API"
        UPLOAD = "UPLOAD", "File upload"

    # Still open for matching: retried when trades or confirmations arrive and by the matching job.
    OPEN_STATUSES = ("UNMATCHED", "MISMATCHED")

    counterparty = models.ForeignKey(Counterparty, on_delete=models.PROTECT, related_name="confirmations",
                                     db_index=False)
    counterparty_ref = models.CharField(max_length=64, help_text="The counterparty's own reference: idempotency key.")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="confirmations", db_index=False)
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="confirmations",
                                   db_index=False)
    side = models.CharField(max_length=4, choices=Trade.Side.choices, help_text="The counterparty's side.")
    quantity = QuantityField()
    price = PriceField()
    trade_date = models.DateField()
    settlement_date = models.DateField()
    # Our trade reference (external_ref), when the counterparty quotes it: then only that trade is a candidate.
    trade_ref = models.CharField(max_length=64, blank=True)
    match_status = models.CharField(max_length=12, choices=MatchStatus.choices, default=MatchStatus.UNMATCHED)
    # MATCHED: the trade it confirms. MISMATCHED: the closest candidate, compared field by field.
    trade = models.ForeignKey(Trade, null=True, blank=True, on_delete=models.PROTECT, related_name="confirmations",
                              db_index=False)
    # [{"field", "ours", "theirs"}] for MISMATCHED, empty otherwise.
    mismatches = models.JSONField(default=list, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.API)
    # SHA-256 of the confirmation's terms in canonical form: a resubmission with other terms is a conflict.
    request_hash = models.CharField(max_length=64)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                     db_index=False)
    received_at = models.DateTimeField()
    matched_at = models.DateTimeField(null=True, blank=True)
    resolution = models.CharField(max_length=16, choices=Resolution.choices, blank=True)
    resolution_reason = models.TextField(blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+", db_index=False)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["counterparty", "counterparty_ref"], name="confirmation_unique_ref"),
            # One confirmation matches at most one trade and a trade at most one confirmation.
            models.UniqueConstraint(fields=["trade"], condition=Q(match_status="MATCHED"),
                                    name="confirmation_one_match_per_trade"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="confirmation_quantity_gt_0"),
            models.CheckConstraint(condition=Q(price__gt=0), name="confirmation_price_gt_0"),
            models.CheckConstraint(condition=Q(match_status="MATCHED", trade__isnull=False)
                                   | ~Q(match_status="MATCHED"), name="confirmation_matched_has_trade"),
        ]
        indexes = [
            # The open ones, by the key matching looks them up on.
            models.Index(fields=["counterparty", "instrument", "trade_date"], condition=Q(
                match_status__in=("UNMATCHED", "MISMATCHED")), name="confirmation_open_idx"),
            models.Index(fields=["match_status", "id"], name="confirmation_status_idx"),
            models.Index(fields=["trade"], name="confirmation_trade_idx"),
        ]

    def __str__(self):
        return f"{self.counterparty_id}:{self.counterparty_ref} {self.match_status}"


class ClearingRun(models.Model):
    """One netting run for a settlement date, executed as a batch job; its figures once it completes."""

    settlement_date = models.DateField()
    job = models.OneToOneField(JobRun, on_delete=models.PROTECT, related_name="clearing_run")
    created_at = models.DateTimeField(auto_now_add=True)
    # Filled by the run's last step, from its obligations.
    trades_netted = models.PositiveIntegerField(default=0)
    obligations_created = models.PositiveIntegerField(default=0)
    gross_value = AmountField(default=0, help_text="Σ |quantity × price| of the trades netted.")
    net_value = AmountField(default=0, help_text="Σ |net cash| of the obligations created.")
    gross_quantity = QuantityField(default=0, help_text="Σ quantity of the trades netted.")
    net_quantity = QuantityField(default=0, help_text="Σ |net quantity| of the obligations created.")

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["settlement_date", "id"], name="clearingrun_date_idx")]

    def __str__(self):
        return f"clearing run {self.pk} for {self.settlement_date}"


class Obligation(models.Model):
    """A net obligation: the netted trades of one account with one settlement counterparty in one
    instrument, settlement date and currency (DESIGN.md §5).

    net_quantity > 0: the account receives securities; net_cash > 0: the account receives cash.
    """

    class Status(models.TextChoices):
        OPEN = "OPEN", "Open"
        INSTRUCTED = "INSTRUCTED", "Instructed"
        SETTLED = "SETTLED", "Settled"
        PARTIALLY_SETTLED = "PARTIALLY_SETTLED", "Partially settled"
        FAILED = "FAILED", "Failed"
        CANCELLED = "CANCELLED", "Cancelled"

    # Ordinary foreign keys, not set-based ones (migration clearing 0005): a set-based key's triggers join the
    # statement's old and new rows on every UPDATE, and a settlement chunk updates obligations with hash and
    # merge joins off (settlement_run_settle): a nested loop over both, quadratic in the chunk's rows.
    run = models.ForeignKey(ClearingRun, on_delete=models.PROTECT, related_name="obligations", db_index=False)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="obligations", db_index=False)
    # The settlement counterparty: the CCP for novated trades.
    counterparty = models.ForeignKey(Counterparty, on_delete=models.PROTECT, related_name="obligations",
                                     db_index=False)
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="obligations",
                                   db_index=False)
    settlement_date = models.DateField()
    currency = models.CharField(max_length=3)
    net_quantity = QuantityField()
    net_cash = AmountField()
    trade_count = models.PositiveIntegerField()
    buy_quantity = QuantityField(default=0)
    sell_quantity = QuantityField(default=0)
    buy_value = AmountField(default=0)
    sell_value = AmountField(default=0)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["run", "account", "counterparty", "instrument", "settlement_date",
                                            "currency"], name="obligation_unique_per_run"),
            models.CheckConstraint(condition=Q(trade_count__gt=0), name="obligation_has_trades"),
        ]
        indexes = [
            models.Index(fields=["settlement_date", "id"], name="obligation_date_idx"),
            models.Index(fields=["account", "id"], name="obligation_account_idx"),
            models.Index(fields=["counterparty", "id"], name="obligation_counterparty_idx"),
            models.Index(fields=["instrument", "id"], name="obligation_instrument_idx"),
            models.Index(fields=["run", "id"], name="obligation_run_idx"),
        ]

    def __str__(self):
        return f"obligation {self.pk}: {self.net_quantity} {self.instrument_id} / {self.net_cash} {self.currency}"


class NettedTrade(models.Model):
    """A trade's place in its obligation. The trade is the primary key: no trade is netted twice."""

    # Set-based foreign keys (backoffice.core.setfk, migration clearing 0004): a netting chunk inserts tens of
    # thousands of links, checked once per statement; links are never updated.
    trade = models.OneToOneField(Trade, on_delete=models.PROTECT, primary_key=True, related_name="netting",
                                 db_constraint=False)
    obligation = models.ForeignKey(Obligation, on_delete=models.PROTECT, related_name="netted_trades",
                                   db_constraint=False)

    class Meta:
        ordering = ["obligation_id", "trade_id"]

    def __str__(self):
        return f"trade {self.trade_id} in obligation {self.obligation_id}"
