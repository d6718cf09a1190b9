"""Settlements: standing settlement instructions, settlement instructions, runs, movements, fails and penalties.

DESIGN.md §6. An instruction settles one net obligation (clearing) on its settlement date, delivery
versus payment; what cannot settle becomes a fail, retried by every following run, aged, penalised
(CSDR) and, for a fail to deliver, given its Reg SHO close-out deadline.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from backoffice.core.fields import AmountField, PriceField, QuantityField, RateField
from backoffice.core.jobs.models import JobRun
from clearing.models import Obligation
from records.reference.models import Account, Counterparty, Instrument, Market
from records.trades.models import Trade


class StandingSettlementInstruction(models.Model):
    """Where a counterparty settles in a market: its depository, safekeeping account and place of settlement.

    Reference data, changed under maker-checker. market null: the counterparty's default for any market.
    """

    counterparty = models.ForeignKey(Counterparty, on_delete=models.PROTECT, related_name="ssis")
    market = models.ForeignKey(Market, null=True, blank=True, on_delete=models.PROTECT, related_name="ssis")
    depository_bic = models.CharField("depository (BIC)", max_length=11,
                                      help_text="The central securities depository, e.g. DTCYUS33.")
    place_of_settlement_bic = models.CharField("place of settlement (BIC)", max_length=11)
    agent_bic = models.CharField("counterparty's settlement agent (BIC)", max_length=11)
    safekeeping_account = models.CharField(max_length=35, help_text="The counterparty's account at the depository.")
    effective_from = models.DateField()
    effective_to = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["counterparty_id", "market_id", "-effective_from"]
        verbose_name = "standing settlement instruction"
        constraints = [
            models.UniqueConstraint(fields=["counterparty", "market", "effective_from"], name="ssi_unique_start",
                                    nulls_distinct=False),
            models.CheckConstraint(condition=Q(effective_to__isnull=True) | Q(effective_to__gte=models.F(
                "effective_from")), name="ssi_effective_range"),
        ]

    def __str__(self):
        return f"SSI {self.counterparty_id}/{self.market_id or '*'} from {self.effective_from}"


class SettlementInstruction(models.Model):
    """One instruction to settle an obligation (or a gross trade) on its settlement date.

    quantity is what moves (never negative); cash_amount is signed from the account's side:
    positive, the account receives cash; negative, it pays.
    """

    class Direction(models.TextChoices):
        DELIVER = "DELIVER", "Deliver"
        RECEIVE = "RECEIVE", "Receive"

    class Payment(models.TextChoices):
        AGAINST = "APMT", "Against payment"
        FREE = "FREE", "Free of payment"

    class Status(models.TextChoices):
        HELD = "HELD", "Held"
        PENDING = "PENDING", "Pending"
        PARTIAL = "PARTIAL", "Partially settled"
        FAILED = "FAILED", "Failed"
        SETTLED = "SETTLED", "Settled"
        CANCELLED = "CANCELLED", "Cancelled"

    # Still to settle: taken by every settlement run on or after the settlement date.
    OPEN_STATUSES = ("PENDING", "PARTIAL", "FAILED")

    # Ordinary foreign keys, not set-based ones (migration settlements 0004): a set-based key's triggers join
    # the statement's old and new rows on every UPDATE, and a settlement chunk updates its instructions with
    # hash and merge joins off (settlement_run_settle): a nested loop over both, quadratic in the chunk's rows.
    obligation = models.OneToOneField(Obligation, null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="instruction")
    trade = models.OneToOneField(Trade, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="settlement_instruction")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="settlement_instructions",
                                db_index=False)
    # The settlement counterparty (the CCP for novated trades).
    counterparty = models.ForeignKey(Counterparty, on_delete=models.PROTECT, related_name="settlement_instructions",
                                     db_index=False)
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="settlement_instructions",
                                   db_index=False)
    settlement_date = models.DateField()
    direction = models.CharField(max_length=7, choices=Direction.choices)
    payment = models.CharField(max_length=4, choices=Payment.choices)
    quantity = QuantityField()
    cash_amount = AmountField()
    currency = models.CharField(max_length=3)
    settled_quantity = QuantityField(default=0)
    settled_cash = AmountField(default=0)
    allow_partial = models.BooleanField()
    ssi = models.ForeignKey(StandingSettlementInstruction, null=True, blank=True, on_delete=models.PROTECT,
                            related_name="instructions")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    hold_reason = models.CharField(max_length=200, blank=True)
    counterparty_failed_at = models.DateTimeField(null=True, blank=True)
    counterparty_fail_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(obligation__isnull=False) | Q(trade__isnull=False),
                                   name="instruction_settles_something"),
            models.CheckConstraint(condition=Q(quantity__gte=0), name="instruction_quantity_gte_0"),
            models.CheckConstraint(condition=Q(settled_quantity__gte=0) & Q(settled_quantity__lte=models.F(
                "quantity")), name="instruction_settled_within_quantity"),
        ]
        indexes = [
            models.Index(fields=["settlement_date", "status", "id"], name="instruction_date_status_idx"),
            models.Index(fields=["status", "id"], name="instruction_status_idx"),
            models.Index(fields=["account", "id"], name="instruction_account_idx"),
            models.Index(fields=["counterparty", "id"], name="instruction_counterparty_idx"),
            models.Index(fields=["instrument", "id"], name="instruction_instrument_idx"),
        ]

    def __str__(self):
        return f"instruction {self.pk}: {self.direction} {self.quantity} {self.instrument_id} {self.settlement_date}"


class SettlementRun(models.Model):
    """One settlement run for a settlement date, executed as a batch job; its counts once it completes."""

    settlement_date = models.DateField()
    job = models.OneToOneField(JobRun, on_delete=models.PROTECT, related_name="settlement_run")
    created_at = models.DateTimeField(auto_now_add=True)
    settled = models.PositiveIntegerField(default=0)
    partial = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["settlement_date", "id"], name="settlementrun_date_idx")]

    def __str__(self):
        return f"settlement run {self.pk} for {self.settlement_date}"


class SettlementMovement(models.Model):
    """What one run settled of one instruction: securities and cash together (DVP). Never edited.

    quantity and cash are signed from the account's side (+ received, - delivered or paid).
    One per instruction and run: a rerun or a redelivered chunk never settles twice.
    """

    # Set-based foreign keys (backoffice.core.setfk, migration settlements 0003): a settlement chunk inserts a
    # movement per instruction it moves, checked once per statement; movements are never updated. Not the
    # instruction (migration 0005): its parent trigger made every UPDATE of instructions keep its old and new
    # rows for the check (13.7 s to 19.6 s of a 300,000-trade settlement's instruction writes).
    instruction = models.ForeignKey(SettlementInstruction, on_delete=models.PROTECT, related_name="movements")
    run = models.ForeignKey(SettlementRun, on_delete=models.PROTECT, related_name="movements", db_index=False,
                            db_constraint=False)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+", db_index=False,
                                db_constraint=False)
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="+", db_index=False,
                                   db_constraint=False)
    currency = models.CharField(max_length=3)
    quantity = QuantityField()
    cash = AmountField()
    value_date = models.DateField()
    settled_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["instruction", "run"], name="movement_once_per_run")]
        indexes = [models.Index(fields=["account", "instrument"], name="movement_position_idx"),
                   models.Index(fields=["run", "id"], name="movement_run_idx")]

    def __str__(self):
        return f"movement {self.pk}: {self.quantity} / {self.cash} {self.currency}"


class SettlementFail(models.Model):
    """An instruction that did not settle (fully) on its settlement date, from then until it settles or is cancelled."""

    class Kind(models.TextChoices):
        DELIVER = "DELIVER", "Fail to deliver"
        RECEIVE = "RECEIVE", "Fail to receive"

    class Cause(models.TextChoices):
        SECURITIES = "SECURITIES", "Lack of securities"
        CASH = "CASH", "Lack of cash"
        COUNTERPARTY = "COUNTERPARTY", "Counterparty failed"

    class RegShoBasis(models.TextChoices):
        SHORT = "SHORT", "Short sale (T+1 after settlement date)"
        LONG = "LONG", "Long sale or bona fide market making (T+3 after settlement date)"
        RULE_144 = "RULE_144", "Rule 144 security (35th calendar day after trade date)"

    instruction = models.OneToOneField(SettlementInstruction, on_delete=models.PROTECT, related_name="fail")
    kind = models.CharField(max_length=7, choices=Kind.choices)
    cause = models.CharField(max_length=12, choices=Cause.choices)
    failed_on = models.DateField(help_text="The settlement date it first failed on.")
    unsettled_quantity = QuantityField()
    regsho_basis = models.CharField(max_length=8, choices=RegShoBasis.choices, blank=True)
    close_out_deadline = models.DateField(null=True, blank=True)
    closed_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["failed_on", "id"]
        indexes = [models.Index(fields=["closed_on", "failed_on"], name="fail_open_idx"),
                   models.Index(fields=["close_out_deadline"], name="fail_deadline_idx")]

    def __str__(self):
        return f"fail of instruction {self.instruction_id} since {self.failed_on}"


class PenaltyRate(models.Model):
    """A CSDR cash penalty rate per asset class and kind of fail (daily, on the reference value)."""

    class FailType(models.TextChoices):
        SECURITIES = "SECURITIES", "Lack of securities"
        CASH = "CASH", "Lack of cash"

    asset_class = models.CharField(max_length=20, choices=Instrument.AssetClass.choices)
    fail_type = models.CharField(max_length=10, choices=FailType.choices)
    rate = RateField(help_text="Daily rate on the reference value, e.g. 0.0001 = 1 bp.")
    source = models.CharField(max_length=200)
    effective_from = models.DateField()

    class Meta:
        ordering = ["asset_class", "fail_type", "-effective_from"]
        constraints = [models.UniqueConstraint(fields=["asset_class", "fail_type", "effective_from"],
                                               name="penaltyrate_unique")]

    def __str__(self):
        return f"{self.asset_class}/{self.fail_type}: {self.rate}"


class FailPenalty(models.Model):
    """The cash penalty a fail accrued on one business day (CSDR): rate times the unsettled part's reference value."""

    fail = models.ForeignKey(SettlementFail, on_delete=models.PROTECT, related_name="penalties")
    penalty_date = models.DateField()
    unsettled_quantity = QuantityField()
    reference_price = PriceField()
    rate = RateField()
    amount = AmountField()
    currency = models.CharField(max_length=3)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["fail_id", "penalty_date"]
        constraints = [models.UniqueConstraint(fields=["fail", "penalty_date"], name="penalty_once_per_day")]

    def __str__(self):
        return f"penalty {self.penalty_date}: {self.amount} {self.currency}"


class StatusMessage(models.Model):
    """A settlement status imported back from the depository (sese.024-like): settled, or failed with a reason."""

    instruction = models.ForeignKey(SettlementInstruction, on_delete=models.PROTECT, related_name="status_messages")
    status = models.CharField(max_length=10)
    reason = models.CharField(max_length=200, blank=True)
    received_at = models.DateTimeField()
    received_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    message_id = models.CharField(max_length=64, unique=True, help_text="The message's own id: idempotency key.")

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return f"{self.message_id}: {self.status}"
