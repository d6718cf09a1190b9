"""Model and serializer fields for money, prices and quantities: Decimal, never float."""

from decimal import Decimal, InvalidOperation

from django.db import models
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

# (max_digits, decimal_places) of each kind of number, used by models and serializers alike.
QUANTITY = (24, 6)
PRICE = (24, 8)
AMOUNT = (24, 4)
RATE = (24, 10)


def QuantityField(**kwargs):
    return models.DecimalField(max_digits=QUANTITY[0], decimal_places=QUANTITY[1], **kwargs)


def PriceField(**kwargs):
    return models.DecimalField(max_digits=PRICE[0], decimal_places=PRICE[1], **kwargs)


def AmountField(**kwargs):
    return models.DecimalField(max_digits=AMOUNT[0], decimal_places=AMOUNT[1], **kwargs)


def RateField(**kwargs):
    return models.DecimalField(max_digits=RATE[0], decimal_places=RATE[1], **kwargs)


def format_decimal(value: Decimal | None) -> str | None:
    """Render a Decimal as plain text without exponent or trailing zeros: 100, 189.25, -0.5."""
    if value is None:
        return None
    text = str(value)  # several times faster than format(value, "f"); exponents only at the extremes
    if "E" in text:
        text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    return text


DECIMAL_SCHEMA = {
    "type": "string",
    "format": "decimal",
    "pattern": r"^-?\d+(\.\d+)?$",
    "example": "100.25",
}


@extend_schema_field(DECIMAL_SCHEMA)
class StrictDecimalField(serializers.DecimalField):
    """A decimal given as a JSON string or integer; never rounded, never a binary float.

    Accepts ``"50.25"``, ``50`` and (through DecimalJSONParser) the exact literal ``50.25``.
    Refuses a Python float (it can only come from a parser that lost precision), booleans,
    NaN and infinities, and more places than the field allows.
    """

    default_error_messages = {
        "float": "Send decimals as strings (e.g. \"50.25\"), not binary floats.",
        "negative": "Must not be negative.",
        "not_positive": "Must be greater than zero.",
    }

    def __init__(self, *, kind=AMOUNT, positive=False, non_negative=False, **kwargs):
        kwargs.setdefault("max_digits", kind[0])
        kwargs.setdefault("decimal_places", kind[1])
        kwargs.setdefault("coerce_to_string", True)
        self.positive = positive
        self.non_negative = non_negative
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        if isinstance(data, float):
            self.fail("float")
        if isinstance(data, str):
            data = data.strip()
            # A leading '+' or non-ASCII (full-width) digits are not decimals a client should send.
            if not data or data.startswith("+") or not data.isascii():
                self.fail("invalid")
        elif not isinstance(data, (int, Decimal)):
            self.fail("invalid")
        try:
            parsed = Decimal(str(data))
        except (InvalidOperation, ValueError):
            self.fail("invalid")
        if not parsed.is_finite():
            self.fail("invalid")
        value = self.validate_precision(parsed)
        if self.positive and value <= 0:
            self.fail("not_positive")
        if self.non_negative and value < 0:
            self.fail("negative")
        self.run_validators(value)
        return value

    def validate_precision(self, value):
        # DRF counts digits of the normalized value; refuse anything that would be rounded.
        _sign, digittuple, exponent = value.as_tuple()
        if exponent >= 0:
            whole_digits = len(digittuple) + exponent
            decimals = 0
        else:
            decimals = -exponent
            # Trailing zeros after the point ("5.00") do not lose anything.
            stripped = value.normalize()
            s_exp = stripped.as_tuple().exponent
            significant_decimals = max(0, -s_exp) if isinstance(s_exp, int) else 0
            decimals = significant_decimals
            whole_digits = max(0, len(digittuple) - (-exponent))
        if decimals > self.decimal_places:
            self.fail("max_decimal_places", max_decimal_places=self.decimal_places)
        if whole_digits > self.max_digits - self.decimal_places:
            self.fail("max_whole_digits", max_whole_digits=self.max_digits - self.decimal_places)
        return value

    def to_representation(self, value):
        if value is None:
            return None
        if not isinstance(value, Decimal):
            value = Decimal(str(value))
        return format_decimal(value)


def DecimalOut(kind=AMOUNT, **kwargs):
    """A read-only decimal in the house format (string, no trailing zeros)."""
    return StrictDecimalField(kind=kind, read_only=True, **kwargs)


OpenApiDecimal = OpenApiTypes.DECIMAL
