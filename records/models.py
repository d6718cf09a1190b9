"""Books and records: reference data, prices, cash, the stock record and the audit trail."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from backoffice.core.fields import AmountField, PriceField, QuantityField, RateField

from .validators import validate_currency, validate_exchange_calendar_mic, validate_isin, validate_lei


class SettlementCalendar(models.TextChoices):
    """The settlement systems whose business days set settlement dates (DESIGN.md §4)."""

    DTC = "DTC", "DTC / Fedwire (United States)"
    CREST = "CREST", "CREST (United Kingdom)"
    T2S = "T2S", "T2S / TARGET (euro area)"
    EXCHANGE = "EXCHANGE", "The exchange's own calendar"


class Market(models.Model):
    """A trading venue by MIC, and the settlement system its trades settle in."""

    mic = models.CharField("MIC", max_length=4, unique=True, validators=[validate_exchange_calendar_mic])
    name = models.CharField(max_length=100)
    country = models.CharField(max_length=2)
    settlement_calendar = models.CharField(max_length=10, choices=SettlementCalendar.choices)

    class Meta:
        ordering = ["mic"]

    def __str__(self):
        return self.mic


class Instrument(models.Model):
    class AssetClass(models.TextChoices):
        EQUITY = "EQUITY", "Equity"
        ETF = "ETF", "Exchange-traded fund"
        GOVT_BOND = "GOVT_BOND", "Government bond"
        CORP_BOND = "CORP_BOND", "Corporate bond"
        FUND = "FUND", "Fund"

    isin = models.CharField("ISIN", max_length=12, unique=True, validators=[validate_isin])
    symbol = models.CharField(max_length=20, db_index=True)
    name = models.CharField(max_length=200)
    asset_class = models.CharField(max_length=10, choices=AssetClass.choices)
    currency = models.CharField(max_length=3, validators=[validate_currency])
    market = models.ForeignKey(Market, to_field="mic", on_delete=models.PROTECT, related_name="instruments")
    # Null: derived from the market's settlement calendar, the asset class and the trade date.
    settlement_cycle = models.PositiveSmallIntegerField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["isin"]
        constraints = [
            models.CheckConstraint(
                condition=Q(settlement_cycle__isnull=True) | Q(settlement_cycle__lte=30),
                name="instrument_settlement_cycle_at_most_30",
            )
        ]

    def __str__(self):
        return f"{self.isin} {self.symbol}"


class Account(models.Model):
    class Kind(models.TextChoices):
        HOUSE = "HOUSE", "House"
        CLIENT = "CLIENT", "Client"

    class Status(models.TextChoices):
        ACTIVE = "ACTIVE", "Active"
        SUSPENDED = "SUSPENDED", "Suspended"
        CLOSED = "CLOSED", "Closed"

    class CostMethod(models.TextChoices):
        FIFO = "FIFO", "First in, first out"
        AVERAGE = "AVERAGE", "Average cost"

    code = models.CharField(max_length=30, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    base_currency = models.CharField(max_length=3, validators=[validate_currency])
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    cost_method = models.CharField(max_length=10, choices=CostMethod.choices, default=CostMethod.FIFO)
    allow_partial_settlement = models.BooleanField(default=True)
    credit_limit = AmountField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        constraints = [models.CheckConstraint(condition=Q(credit_limit__gte=0), name="account_credit_limit_gte_0")]

    def __str__(self):
        return self.code


class Counterparty(models.Model):
    code = models.CharField(max_length=30, unique=True)
    name = models.CharField(max_length=200)
    lei = models.CharField("LEI", max_length=20, unique=True, validators=[validate_lei])
    is_ccp = models.BooleanField("CCP", default=False)
    clears_through = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="clearing_members",
        limit_choices_to={"is_ccp": True},
    )
    # False for locked-in trades (e.g. exchange trades through a CCP): netted without a confirmation.
    requires_matching = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "counterparties"

    def __str__(self):
        return self.code


class Price(models.Model):
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="prices")
    price_date = models.DateField()
    price = PriceField()
    currency = models.CharField(max_length=3, validators=[validate_currency])
    source = models.CharField(max_length=30, default="DEFAULT")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["instrument_id", "-price_date", "source"]
        constraints = [
            models.UniqueConstraint(fields=["instrument", "price_date", "source"], name="price_unique_per_source"),
            models.CheckConstraint(condition=Q(price__gt=0), name="price_gt_0"),
        ]
        indexes = [models.Index(fields=["instrument", "-price_date"], name="price_latest_idx")]

    def __str__(self):
        return f"{self.instrument_id} {self.price_date} {self.price} {self.currency}"


class FxRate(models.Model):
    """1 unit of base_currency = rate units of quote_currency on rate_date."""

    base_currency = models.CharField(max_length=3, validators=[validate_currency])
    quote_currency = models.CharField(max_length=3, validators=[validate_currency])
    rate_date = models.DateField()
    rate = RateField()
    source = models.CharField(max_length=30, default="DEFAULT")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["base_currency", "quote_currency", "-rate_date"]
        verbose_name = "FX rate"
        constraints = [
            models.UniqueConstraint(
                fields=["base_currency", "quote_currency", "rate_date", "source"], name="fxrate_unique"
            ),
            models.CheckConstraint(condition=Q(rate__gt=0), name="fxrate_gt_0"),
            models.CheckConstraint(condition=~Q(base_currency=models.F("quote_currency")), name="fxrate_two_ccys"),
        ]

    def __str__(self):
        return f"{self.base_currency}/{self.quote_currency} {self.rate_date} {self.rate}"


class CashMovement(models.Model):
    """One movement of cash in or out of an account. Never edited; corrected by a new movement."""

    class Kind(models.TextChoices):
        DEPOSIT = "DEPOSIT", "Deposit"
        WITHDRAWAL = "WITHDRAWAL", "Withdrawal"
        OPENING = "OPENING", "Opening balance"
        ADJUSTMENT = "ADJUSTMENT", "Adjustment"
        SETTLEMENT = "SETTLEMENT", "Settlement"
        FEE = "FEE", "Fee or penalty"

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="cash_movements")
    currency = models.CharField(max_length=3, validators=[validate_currency])
    amount = AmountField()
    value_date = models.DateField()
    kind = models.CharField(max_length=12, choices=Kind.choices)
    reference = models.CharField(max_length=100, unique=True)
    description = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-value_date", "-id"]
        constraints = [models.CheckConstraint(condition=~Q(amount=0), name="cashmovement_amount_not_0")]
        indexes = [models.Index(fields=["account", "currency", "value_date"], name="cash_acct_ccy_date_idx")]

    def __str__(self):
        return f"{self.reference} {self.account_id} {self.amount} {self.currency}"


class CashBalance(models.Model):
    """Running cash balance per account and currency; equals the sum of its movements.

    `reserved` is cash earmarked for pending settlements; available = balance - reserved.
    """

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="cash_balances")
    currency = models.CharField(max_length=3, validators=[validate_currency])
    balance = AmountField(default=0)
    reserved = AmountField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["account_id", "currency"]
        constraints = [
            models.UniqueConstraint(fields=["account", "currency"], name="cashbalance_unique"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="cashbalance_reserved_gte_0"),
        ]

    def __str__(self):
        return f"{self.account_id} {self.currency} {self.balance}"

    @property
    def available(self):
        return self.balance - self.reserved


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


class AppendOnlyQuerySet(models.QuerySet):
    """Refuse bulk updates and deletes; only retention's purge may delete (records.services.retention)."""

    def update(self, **kwargs):
        raise PermissionError(f"{self.model._meta.label} is append-only")

    def delete(self):
        if not _maintenance.active:
            raise PermissionError(f"{self.model._meta.label} is append-only")
        return super().delete()


class _Maintenance:
    """Set by the retention purge while it deletes expired audit data (never by anything else)."""

    active = False


_maintenance = _Maintenance()


class AppendOnlyModel(models.Model):
    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PermissionError(f"{self._meta.label} is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError(f"{self._meta.label} is append-only")


class AuditRecord(AppendOnlyModel):
    """One change to a business record: who, when, what, before and after, why. Append-only."""

    class Action(models.TextChoices):
        CREATE = "CREATE", "Create"
        UPDATE = "UPDATE", "Update"
        DELETE = "DELETE", "Delete"
        TRANSITION = "TRANSITION", "Status change"

    at = models.DateTimeField(db_index=True)
    # The trail outlives its actors and is never updated, so no database constraint: deleting a
    # user must neither rewrite audit rows (SET NULL) nor be checked against every one of them.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.DO_NOTHING, related_name="+",
        db_constraint=False, db_index=False,
    )
    # Who acted, as text: the username, or "job:<name>" for batch jobs; kept if the user goes.
    actor_label = models.CharField(max_length=150)
    action = models.CharField(max_length=20)
    record_type = models.CharField(max_length=100)
    record_id = models.CharField(max_length=100)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    reason = models.TextField(blank=True)
    # The request (req:<id>) or job (job:<name>:<id>) that caused the change.
    correlation_id = models.CharField(max_length=100, blank=True)
    # SHA-256 of the canonical serialization of the fields above (see services/audit_chain.py).
    content_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-id"]
        # Searches are equalities, newest first (audit_selectors.audit_search): each index ends in id,
        # and none is a LIKE pattern index (db_index=True would add one per text column on
        # PostgreSQL, each a cost on every one of the trail's inserts).
        indexes = [
            models.Index(fields=["record_type", "record_id"], name="audit_record_idx"),
            models.Index(fields=["actor_label", "id"], name="audit_actor_idx"),
            models.Index(fields=["correlation_id", "id"], name="audit_correlation_idx"),
        ]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_label} {self.action} {self.record_type}#{self.record_id}"


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

    # Statuses whose trades count in the trade-date position.
    POSITION_STATUSES = ("BOOKED", "CLEARED", "SETTLED", "PARTIALLY_SETTLED", "FAILED")
    # Statuses in which a trade may still be amended or cancelled.
    AMENDABLE_STATUSES = ("BOOKED", "HELD")

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
        indexes = [
            models.Index(fields=["trade_date", "id"], name="trade_date_idx"),
            models.Index(fields=["account", "instrument", "trade_date"], name="trade_position_idx"),
            models.Index(fields=["settlement_date", "status"], name="trade_settlement_idx"),
            models.Index(fields=["status", "id"], name="trade_status_idx"),
            models.Index(fields=["instrument", "id"], name="trade_instrument_idx"),
            models.Index(fields=["counterparty", "id"], name="trade_counterparty_idx"),
            models.Index(fields=["account", "id"], name="trade_account_idx"),
        ]

    def __str__(self):
        return f"#{self.pk} {self.external_ref} {self.side} {self.quantity} {self.instrument_id}"

    @property
    def gross_amount(self):
        return self.quantity * self.price

    @property
    def signed_quantity(self):
        return self.quantity if self.side == self.Side.BUY else -self.quantity


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
        indexes = [models.Index(fields=["trade", "at"], name="tradeevent_trade_idx")]

    def __str__(self):
        return f"#{self.trade_id} {self.action} {self.from_status}->{self.to_status}"


class AuditBlock(models.Model):
    """A sealed block of audit records: the unit of the tamper-evident hash chain.

    Writers never wait for one another: an audit record gets its own content hash as it is
    written, and a sealing job (every few seconds, and at the end of batch jobs) collects the
    records not yet sealed into a block whose hash covers their content hashes and the previous
    block's hash. See records/services/audit_chain.py for why.
    """

    sealed_at = models.DateTimeField()
    sealed_by = models.CharField(max_length=150)
    first_record_id = models.BigIntegerField()
    last_record_id = models.BigIntegerField()
    record_count = models.PositiveIntegerField()
    # SHA-256 over the member records' content hashes, in record id order.
    records_hash = models.CharField(max_length=64)
    prev_hash = models.CharField(max_length=64)
    # SHA-256 over this block's header (including prev_hash): the chain link.
    hash = models.CharField(max_length=64, unique=True)
    # Set when retention purged the member records; the header stays, so the chain still verifies.
    pruned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"block {self.pk} ({self.record_count} records) {self.hash[:12]}"


class AuditVerification(AppendOnlyModel):
    """One recomputation of the whole audit chain and its result: the record that it was checked."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    requested_by = models.CharField(max_length=150, help_text="Username, or job:<name> for a scheduled run.")
    ok = models.BooleanField()
    records_checked = models.PositiveBigIntegerField()
    blocks_checked = models.PositiveIntegerField()
    unsealed = models.PositiveBigIntegerField()
    first_broken = models.JSONField(null=True, blank=True)
    problems = models.JSONField(default=list, blank=True, help_text="The first 20 problems found.")

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return f"verification {self.pk} at {self.finished_at:%Y-%m-%d %H:%M}: {'intact' if self.ok else 'BROKEN'}"


class AuditSeal(AppendOnlyModel):
    """Membership of an audit record in a sealed block (append-only, like the records)."""

    record = models.OneToOneField(AuditRecord, on_delete=models.DO_NOTHING, primary_key=True, db_constraint=False,
                                  related_name="seal")
    block = models.ForeignKey(AuditBlock, on_delete=models.PROTECT, related_name="seals", db_index=True)

    def __str__(self):
        return f"record {self.record_id} in block {self.block_id}"


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


class ExportManifest(models.Model):
    """The signed list of a day's books-and-records export files and their SHA-256 hashes."""

    business_date = models.DateField(unique=True)
    date_from = models.DateField()
    date_to = models.DateField()
    files = models.JSONField(help_text='[{"name", "rows", "sha256", "bytes"}]')
    signature = models.CharField(max_length=64, help_text="HMAC-SHA256 of the manifest with the export key.")
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=150)

    class Meta:
        ordering = ["-business_date"]

    def __str__(self):
        return f"manifest {self.business_date}"
