"""Input and output serializers of the reference-data API. Thin: validation of shape only."""
from decimal import Decimal

from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from backoffice.core.fields import AMOUNT, PRICE, RATE, InputError, StrictCharField, StrictDateField, StrictDecimalField
from records.reference.models import Account, Counterparty, Instrument
from records.reference.validators import (
    CODE_MESSAGE,
    CODE_PATTERN,
    iso4217_codes,
    parse_code,
    parse_currency,
    validate_isin,
    validate_lei,
)


class CodeField(StrictCharField):
    """A business code (account, counterparty, price source), as parse_code reads it (maker-checker too)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 30)
        # The validator is the OpenAPI schema's pattern; parse_code has applied the rule already.
        super().__init__(validators=[RegexValidator(CODE_PATTERN, CODE_MESSAGE)], **kwargs)

    def to_internal_value(self, data):
        try:
            return parse_code(data)
        except InputError as exc:
            raise serializers.ValidationError(exc.message, code=exc.code) from None


@extend_schema_field({"type": "string", "enum": sorted(iso4217_codes()), "description": "ISO 4217 code."},
                     component_name="Currency")
class CurrencyField(serializers.CharField):
    """An active ISO 4217 code, as parse_currency reads it (the trade parser and maker-checker too)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 3)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        try:
            return parse_currency(data)
        except InputError as exc:
            raise serializers.ValidationError(exc.message, code=exc.code) from None


# Instruments ----------------------------------------------------------------------------------

class InstrumentOutput(serializers.ModelSerializer):
    market = serializers.CharField(source="market_id")
    settlement_cycle = serializers.SerializerMethodField()
    settlement_cycle_override = serializers.IntegerField(source="settlement_cycle", allow_null=True)

    class Meta:
        model = Instrument
        fields = ["isin", "symbol", "name", "asset_class", "currency", "market", "settlement_cycle",
                  "settlement_cycle_override", "is_active", "created_at", "updated_at"]

    def get_settlement_cycle(self, obj) -> int:
        from django.utils import timezone

        from records.reference.services.calendar import settlement_cycle_for

        return settlement_cycle_for(instrument=obj, trade_date=timezone.localdate())


class InstrumentInput(serializers.Serializer):
    isin = StrictCharField(max_length=12, validators=[validate_isin])
    symbol = StrictCharField(max_length=20)
    name = StrictCharField(max_length=200)
    asset_class = serializers.ChoiceField(choices=Instrument.AssetClass.choices)
    currency = CurrencyField()
    market = StrictCharField(max_length=4, help_text="MIC of the market, e.g. XNYS, XLON, XETR.")
    settlement_cycle = serializers.IntegerField(min_value=0, max_value=30, required=False, allow_null=True,
                                                help_text="Business days; omit to derive from market and asset class.")


class InstrumentPatch(serializers.Serializer):
    symbol = StrictCharField(max_length=20, required=False)
    name = StrictCharField(max_length=200, required=False)
    asset_class = serializers.ChoiceField(choices=Instrument.AssetClass.choices, required=False)
    currency = CurrencyField(required=False)
    market = StrictCharField(max_length=4, required=False)
    settlement_cycle = serializers.IntegerField(min_value=0, max_value=30, required=False, allow_null=True)
    is_active = serializers.BooleanField(required=False)
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, write_only=True)


# Accounts -------------------------------------------------------------------------------------

class AccountOutput(serializers.ModelSerializer):
    credit_limit = StrictDecimalField(kind=AMOUNT, read_only=True)

    class Meta:
        model = Account
        fields = ["code", "name", "kind", "base_currency", "status", "cost_method", "allow_partial_settlement",
                  "credit_limit", "kyc_review_due", "beneficial_owner", "created_at", "updated_at"]


class AccountInput(serializers.Serializer):
    code = CodeField()
    name = StrictCharField(max_length=200)
    kind = serializers.ChoiceField(choices=Account.Kind.choices)
    base_currency = CurrencyField()
    status = serializers.ChoiceField(choices=Account.Status.choices, default=Account.Status.ACTIVE)
    cost_method = serializers.ChoiceField(choices=Account.CostMethod.choices, default=Account.CostMethod.FIFO)
    allow_partial_settlement = serializers.BooleanField(default=True)
    credit_limit = StrictDecimalField(kind=AMOUNT, non_negative=True, default=Decimal("0"))
    kyc_review_due = StrictDateField(allow_null=True, required=False, default=None,
                                     help_text="The last trade date the KYC review covers; null: none recorded.")
    beneficial_owner = StrictCharField(max_length=100, allow_blank=True, required=False, default="",
                                       help_text="Who ultimately owns the account; blank: the account is its own.")


class AccountPatch(serializers.Serializer):
    name = StrictCharField(max_length=200, required=False)
    kind = serializers.ChoiceField(choices=Account.Kind.choices, required=False)
    base_currency = CurrencyField(required=False)
    status = serializers.ChoiceField(choices=Account.Status.choices, required=False)
    cost_method = serializers.ChoiceField(choices=Account.CostMethod.choices, required=False)
    allow_partial_settlement = serializers.BooleanField(required=False)
    credit_limit = StrictDecimalField(kind=AMOUNT, non_negative=True, required=False)
    kyc_review_due = StrictDateField(allow_null=True, required=False)
    beneficial_owner = StrictCharField(max_length=100, allow_blank=True, required=False)
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, write_only=True)


# Counterparties -------------------------------------------------------------------------------

class CounterpartyOutput(serializers.ModelSerializer):
    clears_through = serializers.CharField(source="clears_through.code", allow_null=True, default=None)

    class Meta:
        model = Counterparty
        fields = ["code", "name", "lei", "is_ccp", "clears_through", "requires_matching", "created_at", "updated_at"]


class CounterpartyInput(serializers.Serializer):
    code = CodeField()
    name = StrictCharField(max_length=200)
    lei = StrictCharField(max_length=20, validators=[validate_lei])
    is_ccp = serializers.BooleanField(default=False)
    clears_through = StrictCharField(max_length=30, required=False, allow_null=True, default=None)
    requires_matching = serializers.BooleanField(default=True)


class CounterpartyPatch(serializers.Serializer):
    name = StrictCharField(max_length=200, required=False)
    lei = StrictCharField(max_length=20, validators=[validate_lei], required=False)
    is_ccp = serializers.BooleanField(required=False)
    clears_through = StrictCharField(max_length=30, required=False, allow_null=True)
    requires_matching = serializers.BooleanField(required=False)
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, write_only=True)


# Prices ---------------------------------------------------------------------------------------

class PriceOutput(serializers.Serializer):
    instrument = serializers.CharField(source="instrument.isin")
    price_date = serializers.DateField()
    price = StrictDecimalField(kind=PRICE)
    currency = serializers.CharField()
    source = serializers.CharField()
    updated_at = serializers.DateTimeField()


class PriceInput(serializers.Serializer):
    instrument = StrictCharField(max_length=12, help_text="ISIN")
    price_date = StrictDateField()
    price = StrictDecimalField(kind=PRICE, positive=True)
    currency = CurrencyField(required=False, help_text="Defaults to the instrument's currency; must equal it.")
    source = CodeField(default="DEFAULT")


class LatestPriceQuery(serializers.Serializer):
    as_of = StrictDateField(required=False)


# FX rates -------------------------------------------------------------------------------------

class FxRateSerializer(serializers.Serializer):
    base_currency = CurrencyField()
    quote_currency = CurrencyField()
    rate_date = StrictDateField()
    rate = StrictDecimalField(kind=RATE, positive=True)
    source = CodeField(default="DEFAULT")


# Settlement date ------------------------------------------------------------------------------

class SettlementDateQuery(serializers.Serializer):
    instrument = serializers.CharField(max_length=12, help_text="ISIN")
    trade_date = StrictDateField()


class SettlementDateOutput(serializers.Serializer):
    instrument = serializers.CharField(source="instrument.isin")
    trade_date = serializers.DateField()
    settlement_date = serializers.DateField()
    settlement_cycle = serializers.IntegerField()
    calendar = serializers.CharField(help_text="The settlement system whose business days were counted.")


class MarketOutput(serializers.Serializer):
    mic = serializers.CharField()
    name = serializers.CharField()
    country = serializers.CharField()
    settlement_calendar = serializers.CharField()
