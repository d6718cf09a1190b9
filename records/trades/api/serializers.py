"""Trade and bulk serializers: output shaping and OpenAPI documentation."""


from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from backoffice.core.fields import AMOUNT, PRICE, QUANTITY, StrictCharField, StrictDateField, StrictDecimalField
from records.reference.api.serializers import CurrencyField
from records.reference.validators import format_amount
from records.trades.models import Trade


@extend_schema_field({"type": "string", "format": "decimal", "pattern": r"^-?\d+(\.\d+)?$",
                      "description": "Exact, with at least the currency's minor units: \"1.50\" in USD, "
                                     "\"150\" in JPY."})
class CurrencyAmountField(serializers.Field):
    """An amount of money of the object, in the object's currency (or the serializer context's)."""

    def __init__(self, *, amount: str, **kwargs):
        self.amount = amount
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, value):
        currency = getattr(value, "currency", None) or self.context["currency"]
        return format_amount(getattr(value, self.amount), currency)


class TradeInputSchema(serializers.Serializer):
    """The trade body of POST /api/v1/trades/, for the OpenAPI schema.

    The endpoints parse it with records.trades.input.parse_trade (a serializer per item costs more
    than booking the trade); both apply the same rules (backoffice.core.fields, parse_currency),
    and a property test holds them to the same verdicts.
    """

    external_ref = StrictCharField(max_length=64, help_text="Your reference; idempotency key per user.")
    account = StrictCharField(max_length=30, help_text="Account code.")
    counterparty = StrictCharField(max_length=30, help_text="Counterparty code.")
    instrument = StrictCharField(max_length=12, help_text="ISIN.")
    side = serializers.ChoiceField(choices=Trade.Side.choices)
    quantity = StrictDecimalField(kind=QUANTITY, positive=True)
    price = StrictDecimalField(kind=PRICE, positive=True)
    currency = CurrencyField(required=False, allow_null=True,
                             help_text="Defaults to the instrument's currency; must equal it.")
    trade_date = StrictDateField()
    settlement_date = StrictDateField(required=False, allow_null=True,
                                      help_text="Computed from the settlement calendar when absent.")
    commission = StrictDecimalField(kind=AMOUNT, non_negative=True, required=False, allow_null=True,
                                    help_text="Default 0.")


class TradeOutput(serializers.Serializer):
    # A plain Serializer with every field declared: a ModelSerializer would rebuild its fields from
    # the model for every trade it renders, which costs more than the booking of a single trade.
    id = serializers.IntegerField(read_only=True)
    external_ref = serializers.CharField(max_length=64)
    account = serializers.CharField(source="account.code")
    counterparty = serializers.CharField(source="counterparty.code")
    instrument = serializers.CharField(source="instrument.isin")
    side = serializers.ChoiceField(choices=Trade.Side.choices)
    quantity = StrictDecimalField(kind=QUANTITY)
    price = StrictDecimalField(kind=PRICE)
    currency = serializers.CharField(max_length=3)
    trade_date = serializers.DateField()
    settlement_date = serializers.DateField()
    commission = CurrencyAmountField(amount="commission")
    gross_amount = CurrencyAmountField(amount="gross_amount", help_text="Quantity times price, exact.")
    status = serializers.ChoiceField(choices=Trade.Status.choices)
    match_status = serializers.ChoiceField(choices=Trade.MatchStatus.choices)
    version = serializers.IntegerField(min_value=1)
    settled_quantity = StrictDecimalField(kind=QUANTITY)
    hold_reasons = serializers.ListField(child=serializers.CharField(),
                                         help_text="Why pre-trade checks hold the trade (empty unless HELD).")
    is_as_of = serializers.BooleanField(read_only=True, help_text=(
        "Booked after its trade date (the trade date is before the market's date at booking)."))
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)


_TRADE_OUTPUT = TradeOutput()


def trade_representation(trade: Trade) -> dict:
    """TradeOutput(trade).data without building a serializer: DRF deep-copies every declared field
    for each new serializer, which costs more than rendering them. One shared instance renders;
    its fields keep no state between calls."""
    return _TRADE_OUTPUT.to_representation(trade)


class TradeEventOutput(serializers.Serializer):
    at = serializers.DateTimeField()
    actor = serializers.CharField(source="actor_label")
    action = serializers.CharField()
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    reason = serializers.CharField()


class TradeVersionOutput(serializers.Serializer):
    version = serializers.IntegerField()
    quantity = StrictDecimalField(kind=QUANTITY)
    price = StrictDecimalField(kind=PRICE)
    settlement_date = serializers.DateField()
    commission = CurrencyAmountField(amount="commission", help_text="In the trade's currency.")
    status = serializers.CharField()
    superseded_at = serializers.DateTimeField()
    reason = serializers.CharField()


class TradeDetailOutput(TradeOutput):
    history = serializers.SerializerMethodField()
    versions = serializers.SerializerMethodField()

    def get_history(self, obj) -> list[dict]:
        return TradeEventOutput(obj.events.order_by("at", "id"), many=True).data

    def get_versions(self, obj) -> list[dict]:
        return TradeVersionOutput(obj.versions.order_by("version"), many=True,
                                  context={"currency": obj.currency}).data


TradeDetailOutput.get_history.__annotations__["return"] = TradeEventOutput(many=True)
TradeDetailOutput.get_versions.__annotations__["return"] = TradeVersionOutput(many=True)


class BulkInputSchema(serializers.Serializer):
    trades = TradeInputSchema(many=True, help_text="Up to 10,000 trades.")


class BulkItemResult(serializers.Serializer):
    index = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["created", "duplicate", "rejected"])
    id = serializers.IntegerField(required=False)
    errors = serializers.DictField(required=False, help_text="Field-level messages, for rejected items.")


class BulkOutput(serializers.Serializer):
    created = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    rejected = serializers.IntegerField()
    results = BulkItemResult(many=True)


class CancelInput(serializers.Serializer):
    reason = serializers.CharField(max_length=1000)


class AmendInput(serializers.Serializer):
    # Trade.AMENDABLE_FIELDS, with the rules of a submission.
    quantity = StrictDecimalField(kind=QUANTITY, positive=True, required=False)
    price = StrictDecimalField(kind=PRICE, positive=True, required=False)
    settlement_date = StrictDateField(required=False)
    commission = StrictDecimalField(kind=AMOUNT, non_negative=True, required=False)
    reason = serializers.CharField(max_length=1000)

    def validate(self, attrs):
        if not set(attrs) - {"reason"}:
            raise serializers.ValidationError(f"Give at least one of {', '.join(Trade.AMENDABLE_FIELDS)}.")
        return attrs
