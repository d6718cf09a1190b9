"""Model and serializer fields for money, prices and quantities: Decimal, never float.

Also the rules every input path applies to what a client sends (the trade parser, maker-checker
payloads, the serializers): parse_decimal, parse_text and parse_date, which raise InputError with
the message the client sees. The serializer fields below call them, so a body means the same thing
whichever path reads it.
"""

import re
from datetime import date
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


# Input rules -------------------------------------------------------------------------------------

REQUIRED = "This field is required."
NULL = "This field may not be null."
BLANK = "This field may not be blank."
NOT_A_STRING = "Not a valid string."
CONTROL_CHARACTERS = "Must not contain control characters."
DATE_FORMAT = "Date has wrong format. Use one of these formats instead: YYYY-MM-DD."
INVALID_NUMBER = "A valid number is required."
FLOAT_NUMBER = "Send decimals as strings (e.g. \"50.25\"), not binary floats."


class InputError(ValueError):
    """A value a client sent that the rule refuses: `message` is what the client is told, `code` its DRF code."""

    def __init__(self, message: str, code: str = "invalid"):
        super().__init__(message)
        self.message = message
        self.code = code


# A plain unsigned decimal string without leading zeros: what almost every client sends.
_PLAIN_DECIMAL = re.compile(r"(0|[1-9][0-9]*)(?:\.([0-9]+))?")


def parse_decimal(value, *, kind=AMOUNT, positive: bool = False, non_negative: bool = False,
                  nonzero: bool = False) -> Decimal:
    """Return the decimal a client sent (a string, an integer or an exact Decimal), never rounded.

    Refuses binary floats, booleans, NaN and infinities, a leading '+', non-ASCII digits, more
    decimal places or whole digits than `kind` (max_digits, decimal_places) allows, and, as asked,
    zero or negative values. Raises InputError.
    """
    max_digits, places = kind
    # Fast path for a plain string the rule accepts as it is (stricter than the rule below: a
    # leading "0" counts as a whole digit), so it never accepts what the full rule would refuse.
    if type(value) is str:
        match = _PLAIN_DECIMAL.fullmatch(value)
        if (match is not None and len(match[1]) <= max_digits - places
                and (match[2] is None or len(match[2].rstrip("0")) <= places)):
            parsed = Decimal(value)
            if parsed or not (positive or nonzero):
                return parsed
    if isinstance(value, bool):
        raise InputError(INVALID_NUMBER)
    if isinstance(value, float):
        raise InputError(FLOAT_NUMBER, "float")
    if isinstance(value, str):
        text = value.strip()
        # A leading '+' or non-ASCII (full-width) digits are not decimals a client should send.
        if not text or text.startswith("+") or not text.isascii():
            raise InputError(INVALID_NUMBER)
    elif isinstance(value, int | Decimal):
        text = str(value)
    else:
        raise InputError(INVALID_NUMBER)
    try:
        parsed = Decimal(text)
    except (InvalidOperation, ValueError):
        raise InputError(INVALID_NUMBER) from None
    if not parsed.is_finite():
        raise InputError(INVALID_NUMBER)
    # Count what would be lost: trailing zeros after the point ("5.00") lose nothing.
    _sign, digits, exponent = parsed.as_tuple()
    if exponent >= 0:
        whole_digits, decimals = len(digits) + exponent, 0
    else:
        whole_digits = max(0, len(digits) + exponent)
        decimals = max(0, -parsed.normalize().as_tuple().exponent)
    if decimals > places:
        raise InputError(f"Ensure that there are no more than {places} decimal places.", "max_decimal_places")
    if whole_digits > max_digits - places:
        raise InputError(f"Ensure that there are no more than {max_digits - places} digits before the decimal "
                         "point.", "max_whole_digits")
    if positive and parsed <= 0:
        raise InputError("Must be greater than zero.", "not_positive")
    if non_negative and parsed < 0:
        raise InputError("Must not be negative.", "negative")
    if nonzero and not parsed:
        raise InputError("Must not be zero.", "zero")
    return parsed


def parse_text(value, *, max_length: int, allow_blank: bool = False) -> str:
    """Return the string a client sent, stripped: printable, at most max_length characters. Raises InputError.

    Only strings: a number is not silently turned into text.
    """
    if not isinstance(value, str):
        raise InputError(NOT_A_STRING)
    value = value.strip()
    if not value and not allow_blank:
        raise InputError(BLANK, "blank")
    if len(value) > max_length:
        raise InputError(f"Ensure this field has no more than {max_length} characters.", "max_length")
    if not value.isprintable():
        # Tabs, newlines, NUL, lone surrogates, bidi controls: nothing a reference or a name holds.
        raise InputError(CONTROL_CHARACTERS, "control_characters")
    return value


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_date(value) -> date:
    """Return the date a client sent as YYYY-MM-DD text: not "20261120", not "2026-2-1". Raises InputError."""
    if type(value) is not str or not _ISO_DATE.fullmatch(value):
        raise InputError(DATE_FORMAT)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(DATE_FORMAT) from None


def date_param(value, *, field: str) -> date:
    """A service's date parameter, given as a date or as YYYY-MM-DD text (parse_date's rules): raises
    BusinessRuleError on `field`, the message parse_date gives."""
    from backoffice.core.exceptions import BusinessRuleError

    if isinstance(value, date):
        return value
    try:
        return parse_date(value)
    except InputError as exc:
        raise BusinessRuleError(exc.message, field=field) from None


# Serializer fields ---------------------------------------------------------------------------------

DECIMAL_SCHEMA = {
    "type": "string",
    "format": "decimal",
    "pattern": r"^-?\d+(\.\d+)?$",
    "example": "100.25",
}


@extend_schema_field(DECIMAL_SCHEMA)
class StrictDecimalField(serializers.DecimalField):
    """A decimal given as a JSON string or integer; never rounded, never a binary float (parse_decimal).

    Accepts ``"50.25"``, ``50`` and (through DecimalJSONParser) the exact literal ``50.25``.
    Refuses a Python float (it can only come from a parser that lost precision), booleans,
    NaN and infinities, and more places than the field allows.
    """

    def __init__(self, *, kind=AMOUNT, positive=False, non_negative=False, **kwargs):
        kwargs.setdefault("max_digits", kind[0])
        kwargs.setdefault("decimal_places", kind[1])
        kwargs.setdefault("coerce_to_string", True)
        self.positive = positive
        self.non_negative = non_negative
        super().__init__(**kwargs)

    def validate_empty_values(self, data):
        # DRF's DecimalField reads "" as null when allow_null; an empty string is not a number (parse_decimal).
        return serializers.Field.validate_empty_values(self, data)

    def to_internal_value(self, data):
        try:
            value = parse_decimal(data, kind=(self.max_digits, self.decimal_places), positive=self.positive,
                                  non_negative=self.non_negative)
        except InputError as exc:
            raise serializers.ValidationError(exc.message, code=exc.code) from None
        self.run_validators(value)
        return value

    def to_representation(self, value):
        if value is None:
            return None
        if not isinstance(value, Decimal):
            value = Decimal(str(value))
        return format_decimal(value)


class StrictCharField(serializers.CharField):
    """A string, stripped, printable, at most max_length characters (parse_text); a number is refused, not
    turned into text."""

    def to_internal_value(self, data):
        try:
            return parse_text(data, max_length=self.max_length or 10**9, allow_blank=self.allow_blank)
        except InputError as exc:
            raise serializers.ValidationError(exc.message, code=exc.code) from None


class StrictDateField(serializers.DateField):
    """A date given as YYYY-MM-DD text, nothing else (parse_date); DRF's own also takes "20261120" and "2026-2-1"."""

    def to_internal_value(self, value):
        try:
            return parse_date(value)
        except InputError as exc:
            raise serializers.ValidationError(exc.message, code=exc.code) from None


class StrictBooleanField(serializers.BooleanField):
    """A boolean given as true or false (JSON booleans, or that text in a query string), nothing else.

    DRF's own reads "", "on", "yes", "1", "TRUE" and more, and in a query string takes an empty value
    for false: a client sending ?mine= believes it asked for something.
    """

    def get_value(self, dictionary):
        # DRF turns an empty query value of an optional field into "not given": here it is refused.
        if self.field_name in dictionary and dictionary.get(self.field_name) == "":
            return ""
        return super().get_value(dictionary)

    def to_internal_value(self, data):
        if isinstance(data, bool):
            return data
        if data in ("true", "false"):
            return data == "true"
        self.fail("invalid", input=data)


def DecimalOut(kind=AMOUNT, **kwargs):
    """A read-only decimal in the house format (string, no trailing zeros)."""
    return StrictDecimalField(kind=kind, read_only=True, **kwargs)


OpenApiDecimal = OpenApiTypes.DECIMAL
