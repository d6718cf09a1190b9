"""Reference data: markets, instruments, accounts, counterparties, prices and FX rates."""

from django.db import models
from django.db.models import Q

from backoffice.core.fields import AmountField, PriceField, RateField
from records.reference.validators import validate_currency, validate_exchange_calendar_mic, validate_isin, validate_lei


class SettlementCalendar(models.TextChoices):
    """The settlement systems whose business days set settlement dates (docs/glossary.md)."""

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
    # Compliance: the date the account's KYC review runs out (trades after it are refused), and who
    # ultimately owns it (accounts with the same owner are one party to wash-trade surveillance).
    kyc_review_due = models.DateField(null=True, blank=True, help_text="Last trade date the KYC review covers.")
    beneficial_owner = models.CharField(max_length=100, blank=True,
                                        help_text="Beneficial owner; empty: the account is its own.")
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
