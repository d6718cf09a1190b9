"""Validators for business identifiers, built on python-stdnum, iso4217 and exchange-calendars."""

import re
from decimal import Decimal
from functools import cache

import iso4217
from django.core.exceptions import ValidationError
from stdnum import isin as stdnum_isin
from stdnum import lei as stdnum_lei
from stdnum.exceptions import ValidationError as StdnumError

from backoffice.core.fields import InputError, format_decimal, parse_text


def validate_isin(value: str) -> None:
    """Refuse anything but a 12-character ISIN with a correct check digit."""
    try:
        stdnum_isin.validate(value)
    except StdnumError as exc:
        raise ValidationError(f"Not a valid ISIN: {exc}.", code="invalid_isin") from exc
    if value != value.upper() or value.strip() != value:
        raise ValidationError("Not a valid ISIN: use the canonical upper-case form.", code="invalid_isin")


def validate_lei(value: str) -> None:
    """Refuse anything but a 20-character LEI with correct ISO 17442 check digits."""
    try:
        stdnum_lei.validate(value)
    except StdnumError as exc:
        raise ValidationError(f"Not a valid LEI: {exc}.", code="invalid_lei") from exc
    if value != value.upper() or value.strip() != value:
        raise ValidationError("Not a valid LEI: use the canonical upper-case form.", code="invalid_lei")


@cache
def iso4217_codes() -> frozenset[str]:
    # Precious metals, testing and "no currency" codes have no minor unit: not settlement currencies.
    return frozenset(c.code for c in iso4217.Currency if c.exponent is not None)


def validate_currency(value: str) -> None:
    """Refuse anything but an active ISO 4217 currency code."""
    if value not in iso4217_codes():
        raise ValidationError(f"Unknown ISO 4217 currency code: {value!r}.", code="invalid_currency")


# Business codes of accounts, counterparties and price sources, as the API takes them.
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._/-]*$"
CODE_MESSAGE = "Use letters, digits and . _ / - only, starting with a letter or digit."
_CODE = re.compile(CODE_PATTERN)


def parse_code(value) -> str:
    """Return the business code a client sent (text, stripped, as parse_text, up to 30 characters) if it
    is made of letters, digits and . _ / -, starting with a letter or digit. Raises InputError."""
    code = parse_text(value, max_length=30)
    if not _CODE.match(code):
        raise InputError(CODE_MESSAGE)
    return code


def parse_currency(value) -> str:
    """Return the currency code a client sent (text, stripped, as parse_text), if it is an active ISO 4217
    code ("USD", never "usd" or "XYZ"). Raises InputError."""
    code = parse_text(value, max_length=3)
    if code not in iso4217_codes():
        raise InputError(f"Unknown ISO 4217 currency code: {code!r}.", "invalid_currency")
    return code


@cache
def currency_exponent(code: str) -> int:
    """Return the number of minor-unit digits of a currency (2 for USD, 0 for JPY)."""
    return iso4217.Currency(code).exponent


def format_amount(value: Decimal, currency: str) -> str:
    """Render an amount with at least its currency's minor units, never rounded: 1.50 and 1.505 USD, 150 JPY."""
    text = format_decimal(value)
    places = currency_exponent(currency)
    if len(text.partition(".")[2]) >= places:
        return text
    return format(value.quantize(Decimal(1).scaleb(-places)), "f")


@cache
def exchange_calendar_names() -> frozenset[str]:
    import exchange_calendars

    return frozenset(n for n in exchange_calendars.get_calendar_names() if len(n) == 4 and n.isupper())


def validate_exchange_calendar_mic(value: str) -> None:
    """Refuse a MIC that exchange-calendars has no calendar for."""
    if value not in exchange_calendar_names():
        raise ValidationError(f"No exchange calendar is known for MIC {value!r}.", code="invalid_mic")
