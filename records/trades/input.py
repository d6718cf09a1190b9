"""Parse trade submissions fast: one code path for single and bulk (10,000 items) submissions.

A DRF serializer per item costs far more than the booking itself, so trade input is parsed by
hand with the same rules and messages the serializer fields would give; `TradeInputSchema` in
records.trades.api.serializers documents the same body for OpenAPI (a test keeps the two in step).
"""

import re
from datetime import date
from decimal import Decimal

from rest_framework.exceptions import ValidationError

from backoffice.core.fields import AMOUNT, PRICE, QUANTITY, StrictDecimalField
from records.reference.validators import iso4217_codes
from records.trades.services import TradeInput

REQUIRED = "This field is required."
NULL = "This field may not be null."
BLANK = "This field may not be blank."
DATE_FORMAT = "Date has wrong format. Use one of these formats instead: YYYY-MM-DD."
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
SIDES = ("BUY", "SELL")
FIELDS = ("external_ref", "account", "counterparty", "instrument", "side", "quantity", "price", "currency",
          "trade_date", "settlement_date", "commission")

_quantity = StrictDecimalField(kind=QUANTITY, positive=True)
_price = StrictDecimalField(kind=PRICE, positive=True)
_commission = StrictDecimalField(kind=AMOUNT, non_negative=True)


def _text(data, name, errors, *, max_length, required=True):
    value = data.get(name)
    if value is None:
        if required:
            errors[name] = [REQUIRED if name not in data else NULL]
        return None
    if not isinstance(value, str):
        errors[name] = ["Not a valid string."]
        return None
    value = value.strip()
    if not value:
        errors[name] = [BLANK]
    elif len(value) > max_length:
        errors[name] = [f"Ensure this field has no more than {max_length} characters."]
    elif not value.isprintable():
        errors[name] = ["Must not contain control characters."]
    else:
        return value
    return None


# A plain unsigned decimal string without leading zeros: what almost every client sends.
_PLAIN_DECIMAL = re.compile(r"^(0|[1-9][0-9]*)(?:\.([0-9]+))?$")


def _plain_decimal(value, field) -> Decimal | None:
    """The value if it is a plain decimal string the field accepts as it is, else None (take the field's path).

    Stricter than the field (a leading "0" counts as a whole digit), so it never accepts what the
    field would refuse; everything else, errors included, goes through the field.
    """
    if type(value) is not str:
        return None
    match = _PLAIN_DECIMAL.match(value)
    if match is None or len(match[1]) > field.max_digits - field.decimal_places:
        return None
    if match[2] is not None and len(match[2].rstrip("0")) > field.decimal_places:
        return None
    parsed = Decimal(value)
    if field.positive and not parsed:
        return None
    return parsed


def _decimal(data, name, errors, field, *, required=True):
    if name not in data or data[name] is None:
        if required:
            errors[name] = [REQUIRED if name not in data else NULL]
        return None
    fast = _plain_decimal(data[name], field)
    if fast is not None:
        return fast
    try:
        return field.to_internal_value(data[name])
    except ValidationError as exc:
        errors[name] = [str(m) for m in exc.detail]
        return None


def _date(data, name, errors, *, required=True):
    value = data.get(name)
    if value is None:
        if required:
            errors[name] = [REQUIRED if name not in data else NULL]
        return None
    if not isinstance(value, str) or not _DATE_RE.match(value):
        errors[name] = [DATE_FORMAT]
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors[name] = [DATE_FORMAT]
        return None


def parse_trade(data) -> tuple[TradeInput | None, dict]:
    """Return (TradeInput, {}) for a well-formed trade body, else (None, field errors)."""
    if not isinstance(data, dict):
        return None, {"non_field_errors": ["Invalid data. Expected a dictionary."]}
    errors: dict[str, list[str]] = {}
    external_ref = _text(data, "external_ref", errors, max_length=64)
    account = _text(data, "account", errors, max_length=30)
    counterparty = _text(data, "counterparty", errors, max_length=30)
    instrument = _text(data, "instrument", errors, max_length=12)
    side = data.get("side")
    if side is None:
        errors["side"] = [REQUIRED if "side" not in data else NULL]
    elif side not in SIDES:
        errors["side"] = [f'"{side}" is not a valid choice.' if isinstance(side, str) else "Not a valid choice."]
    quantity = _decimal(data, "quantity", errors, _quantity)
    price = _decimal(data, "price", errors, _price)
    commission = _decimal(data, "commission", errors, _commission, required=False)
    currency = data.get("currency")
    if currency is not None and (not isinstance(currency, str) or currency not in iso4217_codes()):
        errors["currency"] = [f"Unknown ISO 4217 currency code: {currency!r}."]
    trade_date = _date(data, "trade_date", errors)
    settlement_date = _date(data, "settlement_date", errors, required=False)
    if errors:
        return None, errors
    return TradeInput(
        external_ref=external_ref, account=account, counterparty=counterparty, instrument=instrument, side=side,
        quantity=quantity, price=price, trade_date=trade_date, currency=currency, settlement_date=settlement_date,
        commission=commission if commission is not None else TradeInput.commission,
    ), {}
