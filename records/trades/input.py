"""Parse trade submissions fast: one code path for single and bulk (10,000 items) submissions.

A DRF serializer per item costs far more than the booking itself, so trade input is parsed by
hand, with the kernel's input rules (backoffice.core.fields: parse_text, parse_decimal,
parse_date) and records.reference.validators.parse_currency, which the serializer fields call
too. `TradeInputSchema` in records.trades.api.serializers documents the same body for OpenAPI
with those fields, and a property test holds the two to the same verdicts.
"""

import dataclasses

from django.core.exceptions import ImproperlyConfigured

from backoffice.core.fields import (
    AMOUNT,
    NULL,
    PRICE,
    QUANTITY,
    REQUIRED,
    InputError,
    parse_date,
    parse_decimal,
    parse_text,
)
from records.reference.validators import parse_currency
from records.trades.models import Trade
from records.trades.services import TradeInput

FIELDS = ("external_ref", "account", "counterparty", "instrument", "side", "quantity", "price", "currency",
          "trade_date", "settlement_date", "commission")
SIDES = tuple(Trade.Side.values)


def _side(value) -> str:
    if value not in SIDES:
        raise InputError(f'"{value}" is not a valid choice.' if isinstance(value, str) else "Not a valid choice.",
                         "invalid_choice")
    return value


# Each field of the body in TradeInput's order: (name, required, rule). An optional field may also
# be null. Lambdas rather than partials: a call through a partial's keywords costs more.
_RULES = (
    ("external_ref", True, lambda value: parse_text(value, max_length=64)),
    ("account", True, lambda value: parse_text(value, max_length=30)),
    ("counterparty", True, lambda value: parse_text(value, max_length=30)),
    ("instrument", True, lambda value: parse_text(value, max_length=12)),
    ("side", True, _side),
    ("quantity", True, lambda value: parse_decimal(value, kind=QUANTITY, positive=True)),
    ("price", True, lambda value: parse_decimal(value, kind=PRICE, positive=True)),
    ("trade_date", True, parse_date),
    ("currency", False, parse_currency),
    ("settlement_date", False, parse_date),
    ("commission", False, lambda value: parse_decimal(value, kind=AMOUNT, non_negative=True)),
)
if tuple(name for name, _, _ in _RULES) != tuple(f.name for f in dataclasses.fields(TradeInput)):
    raise ImproperlyConfigured("records.trades.input._RULES must follow TradeInput's fields, in order.")


def parse_trade(data) -> tuple[TradeInput | None, dict]:
    """Return (TradeInput, {}) for a well-formed trade body, else (None, field errors)."""
    if not isinstance(data, dict):
        return None, {"non_field_errors": ["Invalid data. Expected a dictionary."]}
    errors: dict[str, list[str]] = {}
    values = []
    for name, required, rule in _RULES:
        value = data.get(name)
        if value is None:
            if required:
                errors[name] = [REQUIRED if name not in data else NULL]
            values.append(None)
            continue
        try:
            values.append(rule(value))
        except InputError as exc:
            errors[name] = [exc.message]
    if errors:
        return None, errors
    if values[-1] is None:
        values[-1] = TradeInput.commission  # absent or null: the default
    return TradeInput(*values), {}
