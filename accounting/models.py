"""Accounting: the chart of accounts, periods, journal entries and lines, cost lots, reconciliation (DESIGN.md §7).

Double entry, per trading account as a sub-ledger dimension, in the transaction currency with
each line's base-currency amount at a stored FX rate. Posted entries are never updated or deleted
(PostgreSQL triggers refuse it, accounting/migrations/0002_ledger_guards.py); a correction is a
reversal. Every entry balances per currency and in the base currency (a statement-level trigger
checks each INSERT's lines), and no entry is dated in a closed period (likewise).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from backoffice.core.fields import AmountField, QuantityField, RateField
from backoffice.core.jobs.models import JobRun
from records.reference.models import Account, Instrument


class GLAccount(models.Model):
    """An account of the general ledger (chart of accounts), hierarchical.

    role names what the posting rules (accounting/posting/rules.py) post to; an account without a
    role is a heading or an account for manual entries only. Changed under maker-checker.
    """

    class Type(models.TextChoices):
        ASSET = "ASSET", "Asset"
        LIABILITY = "LIABILITY", "Liability"
        EQUITY = "EQUITY", "Equity"
        REVENUE = "REVENUE", "Revenue"
        EXPENSE = "EXPENSE", "Expense"

    # Balance-sheet and income-statement types; debit-normal types.
    BALANCE_SHEET = ("ASSET", "LIABILITY", "EQUITY")
    INCOME_STATEMENT = ("REVENUE", "EXPENSE")
    DEBIT_NORMAL = ("ASSET", "EXPENSE")

    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=200)
    type = models.CharField(max_length=10, choices=Type.choices)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    role = models.CharField(max_length=40, unique=True, null=True, blank=True,
                            help_text="What the posting rules call this account (e.g. INVESTMENTS); blank: "
                                      "manual entries only.")
    is_monetary = models.BooleanField(default=True, help_text="Revalued at closing FX rates (cash, receivables, "
                                                              "payables); not investments at cost or P&L.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        verbose_name = "GL account"

    def __str__(self):
        return f"{self.code} {self.name}"

    @property
    def is_debit_normal(self) -> bool:
        return self.type in self.DEBIT_NORMAL


class Period(models.Model):
    """An accounting period (a calendar month). Closed: it takes no postings; reopened under maker-checker."""

    class Status(models.TextChoices):
        OPEN = "OPEN", "Open"
        CLOSED = "CLOSED", "Closed"

    start = models.DateField(unique=True)
    end = models.DateField()
    status = models.CharField(max_length=6, choices=Status.choices, default=Status.OPEN)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-start"]
        constraints = [models.CheckConstraint(condition=Q(end__gte=models.F("start")), name="period_end_after_start")]

    def __str__(self):
        return f"{self.start:%Y-%m} ({self.status})"


class JournalEntry(models.Model):
    """One posted journal entry: balanced lines that record one source event under one posting rule.

    (source_type, source_id, source_version, rule, generation, currency) is unique: each source
    event posts exactly once per rule, whatever the reruns. generation counts re-postings of the
    same trade version after a reversal restated it (accounting/posting/trades.py); currency tells
    apart the FX revaluations of one account on one day (every other source has one currency).
    """

    class Source(models.TextChoices):
        TRADE = "TRADE", "Trade"
        NETTING = "NETTING", "Net obligation"
        SETTLEMENT = "SETTLEMENT", "Settlement movement"
        CASH = "CASH", "Cash movement"
        STOCK = "STOCK", "Stock movement"
        PENALTY = "PENALTY", "Fail penalty"
        MTM = "MTM", "Mark to market"
        FX = "FX", "FX revaluation"
        MANUAL = "MANUAL", "Manual entry"

    entry_date = models.DateField(help_text="The accounting date: the period the entry belongs to.")
    event_date = models.DateField(help_text="When the source event happened (later entry date: its period was "
                                            "closed).")
    source_type = models.CharField(max_length=10, choices=Source.choices)
    source_id = models.BigIntegerField()
    source_version = models.IntegerField(default=0)
    rule = models.CharField(max_length=40)
    generation = models.PositiveIntegerField(default=0)
    reversal_of = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="reversed_by", db_constraint=False)
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                db_index=False, db_constraint=False)
    instrument = models.ForeignKey(Instrument, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                   db_index=False, db_constraint=False)
    currency = models.CharField(max_length=3)
    description = models.CharField(max_length=200)
    job = models.ForeignKey(JobRun, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                            db_index=False, db_constraint=False)
    posted_at = models.DateTimeField()
    posted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+", db_index=False, db_constraint=False)

    class Meta:
        ordering = ["-entry_date", "-id"]
        verbose_name_plural = "journal entries"
        constraints = [models.UniqueConstraint(
            fields=["source_type", "source_id", "source_version", "rule", "generation", "currency"],
            name="journalentry_once_per_source_and_rule")]
        indexes = [
            models.Index(fields=["entry_date", "id"], name="entry_date_idx"),
            models.Index(fields=["account", "entry_date"], name="entry_account_idx"),
        ]

    def __str__(self):
        return f"JE {self.pk} {self.entry_date} {self.rule} {self.source_type}:{self.source_id}"


class JournalLine(models.Model):
    """One line of an entry: a signed amount (debit positive, credit negative) on a GL account.

    amount is in currency; base_amount in the base currency (settings.ACCOUNTING_BASE_CURRENCY) at
    fx_rate (base units per unit of currency). quantity is the securities the line moves (lines on
    investment accounts), so the ledger reconciles to the stock record. entry_date repeats the
    entry's so a balance as of a date reads the lines alone.
    """

    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="lines",
                              db_index=False, db_constraint=False)
    gl_account = models.ForeignKey(GLAccount, on_delete=models.PROTECT, related_name="lines",
                                   db_index=False, db_constraint=False)
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                db_index=False, db_constraint=False)
    instrument = models.ForeignKey(Instrument, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                   db_index=False, db_constraint=False)
    currency = models.CharField(max_length=3)
    amount = AmountField()
    base_amount = AmountField()
    fx_rate = RateField()
    quantity = QuantityField(default=0)
    entry_date = models.DateField()

    class Meta:
        ordering = ["entry_id", "id"]
        indexes = [
            models.Index(fields=["entry", "id"], name="line_entry_idx"),
            # A GL account's ledger in its order (date, entry, line): a page is read from the index, not sorted.
            models.Index(fields=["gl_account", "entry_date", "entry", "id"], name="line_gl_order_idx"),
            models.Index(fields=["account", "instrument", "gl_account"], name="line_subledger_idx"),
        ]

    def __str__(self):
        return f"{self.gl_account_id} {self.amount} {self.currency}"


class DayTotal(models.Model):
    """What the lines of one INSERT (or COPY) statement add to a GL account in a currency on a day, per posting rule
    of their entries: append-only.

    Written by PostgreSQL, never by the application (migration 0004: a statement-level trigger on the journal
    lines reads the statement's transition table). One row per (GL account, currency, entry date) per statement
    and no upsert, so postings running side by side never wait for each other here. Readers sum the rows: a GL
    account's balance as of a date, the trial balance, the statements, the chart's figures and the periods'
    debits read this table, thousands of times smaller than the lines, instead of the lines (docs/scaling.md).
    The lines are append-only (migration 0002), so the sums stay exact.
    """

    gl_account = models.ForeignKey(GLAccount, on_delete=models.PROTECT, related_name="+", db_index=False)
    currency = models.CharField(max_length=3)
    entry_date = models.DateField()
    rule = models.CharField(max_length=40, default="", help_text="The posting rule of the lines' entries.")
    lines = models.BigIntegerField()
    amount = models.DecimalField(max_digits=38, decimal_places=4)  # Σ amount
    base_amount = models.DecimalField(max_digits=38, decimal_places=4)  # Σ base_amount
    base_debits = models.DecimalField(max_digits=38, decimal_places=4)  # Σ base_amount of the debit lines (> 0)

    class Meta:
        indexes = [models.Index(fields=["entry_date", "gl_account"], name="daytotal_date_gl_idx")]

    def __str__(self):
        return f"{self.gl_account_id} {self.currency} {self.entry_date}: {self.amount}"


class DayEntries(models.Model):
    """How many journal entries one INSERT statement added on a day: append-only, written by a trigger like
    DayTotal (migration 0004); the periods page sums it per month."""

    entry_date = models.DateField(db_index=True)
    entries = models.BigIntegerField()

    def __str__(self):
        return f"{self.entry_date}: {self.entries}"


class PositionTotal(models.Model):
    """The P&L figures of one trading account's position in an instrument and currency: every journal line on the
    investments, realized P&L and commission expense accounts, summed as lines are inserted (a statement-level
    trigger, migration 0006: one upsert per statement, rows in key order).

    Posting chunks own disjoint accounts (per-account locks), so they never wait for each other here. A GL
    account's role no longer changes once it has lines (accounting/chart/validators.py), so a line counts under
    the role it had when inserted, as the P&L over the lines reads it. The P&L reads this table when no line of
    those accounts is dated after its as-of date (the day totals say), the lines otherwise.
    """

    account = models.ForeignKey(Account, null=True, on_delete=models.PROTECT, related_name="+", db_index=False)
    instrument = models.ForeignKey(Instrument, null=True, on_delete=models.PROTECT, related_name="+",
                                   db_index=False)
    currency = models.CharField(max_length=3)
    realized_sum = models.DecimalField(max_digits=38, decimal_places=4)  # Σ amount on REALIZED_PNL (gains < 0)
    commission_sum = models.DecimalField(max_digits=38, decimal_places=4)  # Σ amount on COMMISSION_EXPENSE
    quantity_sum = models.DecimalField(max_digits=38, decimal_places=6)  # Σ quantity on INVESTMENTS
    cost_sum = models.DecimalField(max_digits=38, decimal_places=4)  # Σ amount on INVESTMENTS

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "instrument", "currency"], nulls_distinct=False,
                                               name="positiontotal_unique")]
        indexes = [models.Index(fields=["instrument"], name="positiontotal_instrument_idx")]

    def __str__(self):
        return f"{self.account_id}/{self.instrument_id} {self.currency}"


class PostingState(models.Model):
    """Where the ledger stands on one lot event (a trade or a stock movement): its active entry.

    Working state of the posting engine (accounting/posting/lots.py): a trade amended or cancelled
    after it was posted is found by comparing the trade with this row; seq orders an account's
    lot events in an instrument as they were posted (a restatement reposts everything after the
    earliest change). entry null: reversed and not posted again (cancelled, or no longer booked).
    """

    source_type = models.CharField(max_length=10)
    source_id = models.BigIntegerField()
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+",
                                db_index=False, db_constraint=False)
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="+",
                                   db_index=False, db_constraint=False)
    version = models.PositiveIntegerField()
    generation = models.PositiveIntegerField(default=0)
    entry = models.OneToOneField(JournalEntry, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+", db_constraint=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source_type", "source_id"], name="postingstate_unique")]
        indexes = [models.Index(fields=["account", "instrument"], name="postingstate_position_idx")]

    def __str__(self):
        return f"{self.source_type}:{self.source_id} v{self.version} -> {self.entry_id}"


class CostLot(models.Model):
    """An open tax lot of an account in an instrument: the cost basis sells relieve (FIFO or average cost).

    Working state of the posting engine, rebuilt exactly by reversals (each change is a LotMovement
    of the entry that made it). quantity and cost are signed: long lots positive, short lots negative.
    Under average cost an account holds one pooled lot per instrument.
    """

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+",
                                db_index=False, db_constraint=False)
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="+",
                                   db_index=False, db_constraint=False)
    currency = models.CharField(max_length=3)
    opened_on = models.DateField()
    opened_by = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="+",
                                  db_index=False, db_constraint=False)
    quantity = QuantityField()
    cost = AmountField()

    class Meta:
        ordering = ["account_id", "instrument_id", "id"]
        indexes = [models.Index(fields=["account", "instrument", "id"], name="lot_position_idx")]

    def __str__(self):
        return f"lot {self.pk} {self.account_id}/{self.instrument_id} {self.quantity} @ {self.cost}"


class LotMovement(models.Model):
    """What one entry did to one lot (opened, relieved, restored). Never edited."""

    lot = models.ForeignKey(CostLot, on_delete=models.PROTECT, related_name="movements",
                            db_index=False, db_constraint=False)
    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="+",
                              db_index=False, db_constraint=False)
    quantity = QuantityField()
    cost = AmountField()

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["entry"], name="lotmovement_entry_idx")]

    def __str__(self):
        return f"lot {self.lot_id} by entry {self.entry_id}: {self.quantity} / {self.cost}"


class ReconciliationRun(models.Model):
    """One reconciliation of the ledger to the stock record and the cash balances, run as a batch job."""

    job = models.OneToOneField(JobRun, on_delete=models.PROTECT, related_name="reconciliation_run")
    as_of = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)
    positions_checked = models.PositiveIntegerField(default=0)
    balances_checked = models.PositiveIntegerField(default=0)
    breaks = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return f"reconciliation {self.pk} as of {self.as_of}"


class ReconciliationBreak(models.Model):
    """A difference between the ledger and the stock record (securities) or the cash balance (cash)."""

    class Kind(models.TextChoices):
        SECURITIES = "SECURITIES", "Securities: ledger vs stock record"
        CASH = "CASH", "Cash: ledger vs cash balance"

    run = models.ForeignKey(ReconciliationRun, on_delete=models.PROTECT, related_name="break_rows")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+", db_index=False)
    instrument = models.ForeignKey(Instrument, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                   db_index=False)
    currency = models.CharField(max_length=3, blank=True)
    ledger = models.DecimalField(max_digits=24, decimal_places=6)
    records = models.DecimalField(max_digits=24, decimal_places=6)
    difference = models.DecimalField(max_digits=24, decimal_places=6)

    class Meta:
        ordering = ["run_id", "kind", "account_id", "instrument_id", "currency"]

    def __str__(self):
        return f"break {self.kind} {self.account_id} {self.instrument_id or self.currency}: {self.difference}"
