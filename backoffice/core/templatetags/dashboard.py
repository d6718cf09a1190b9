"""Template filters for the dashboards: numbers as operations staff read them, and status pills.

Numbers are formatted from their Decimal value (never through float), grouped by thousands.
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import iso4217
from django import template
from django.utils.html import format_html

register = template.Library()

# The tone of each status: ok (green), warn (amber), bad (red), muted (grey). Anything else is neutral
# (blue): work in progress, e.g. a trade BOOKED or CLEARED but not yet SETTLED.
STATUS_TONES = {
    "ok": {"ACTIVE", "SETTLED", "COMPLETED", "MATCHED", "APPROVED", "OK"},
    "warn": {"PENDING", "HELD", "SUSPENDED", "PARTIAL", "PARTIALLY_SETTLED", "QUEUED", "RUNNING", "UNMATCHED",
             "OPEN", "INVESTIGATING", "ESCALATED"},
    "bad": {"FAILED", "CLOSED", "REJECTED", "MISMATCHED", "ERROR", "BROKEN"},
    "muted": {"CANCELLED", "INACTIVE", "EXPIRED", "REVERSED"},
}
_TONE_OF = {status: tone for tone, statuses in STATUS_TONES.items() for status in statuses}


def _decimal(value) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _grouped(value: Decimal, *, min_places: int, max_places: int) -> str:
    """Round to max_places, drop trailing zeros down to min_places, group the whole part by thousands."""
    if value.as_tuple().exponent < -max_places:
        value = value.quantize(Decimal(1).scaleb(-max_places), ROUND_HALF_UP)
    text = format(value, "f")
    whole, _, fraction = text.partition(".")
    fraction = fraction.rstrip("0").ljust(min_places, "0")
    sign = "-" if whole.startswith("-") else ""
    whole = f"{int(whole.lstrip('-') or 0):,}"
    if sign and set(whole + fraction) <= {"0", ","}:
        sign = ""  # no "-0.00"
    return f"{sign}{whole}.{fraction}" if fraction else f"{sign}{whole}"


@register.filter
def qty(value):
    """A quantity: 1,250 or 12.5 (no trailing zeros)."""
    number = _decimal(value)
    return "" if number is None else _grouped(number, min_places=0, max_places=6)


@register.filter
def price(value):
    """A price: at least two decimals, at most eight: 189.25, 0.12345678."""
    number = _decimal(value)
    return "" if number is None else _grouped(number, min_places=2, max_places=8)


@register.filter
def amount(value, currency=None):
    """An amount in the minor units of its currency: 1,234.50 USD, 1,234 JPY (two places if unknown)."""
    number = _decimal(value)
    if number is None:
        return ""
    try:
        places = iso4217.Currency(str(currency)).exponent if currency else 2
    except ValueError:
        places = 2
    places = 2 if places is None else places
    return _grouped(number.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP), min_places=places, max_places=places)


@register.filter
def is_negative(value):
    number = _decimal(value)
    return number is not None and number < 0


@register.filter
def status_tone(status):
    """Return ok, warn, bad, muted or neutral for a status code."""
    return _TONE_OF.get(str(status).upper(), "neutral")


@register.simple_tag
def status_pill(status, label=None):
    """Render a status as a coloured pill; label defaults to the code in sentence case."""
    code = str(status or "")
    text = label or code.replace("_", " ").capitalize()
    return format_html('<span class="pill pill-{}" title="{}">{}</span>', status_tone(code), code, text)


@register.filter
def times(value, factor):
    """Multiply two decimals (e.g. quantity by price); empty when either is missing."""
    left, right = _decimal(value), _decimal(factor)
    return None if left is None or right is None else left * right


@register.filter
def audit_changed_fields(record, limit=6):
    """The fields an audit record changed, for a list: "status, quantity", "created", "+3 more"..."""
    before, after = record.before, record.after
    if record.action == "PURGE" and isinstance(after, dict):
        return f"{after.get('count', '?')} purged"
    if before is None and after is not None:
        return "created"
    if after is None and before is not None:
        return "deleted"
    if not isinstance(before, dict) or not isinstance(after, dict):
        return ""
    # Sorted by name: PostgreSQL's jsonb keeps keys in its own order (shortest first).
    names = [name for name in sorted({*before, *after}) if before.get(name) != after.get(name)]
    shown = ", ".join(names[:limit])
    return f"{shown} +{len(names) - limit} more" if len(names) > limit else shown


@register.filter
def json_value(value):
    """A before/after value as JSON shows it: strings bare, everything else in JSON notation."""
    import json

    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)


@register.filter
def pretty_json(value):
    """Indented JSON, keys sorted, for a <pre> block."""
    import json

    return json.dumps(value, ensure_ascii=False, sort_keys=True, indent=2)
