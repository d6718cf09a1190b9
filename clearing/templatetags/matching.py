"""Template filters of clearing's matching pages: the names of compared fields as a clerk reads them."""

from django import template

register = template.Library()

FIELD_LABELS = {"account": "account", "instrument": "instrument", "side": "side", "quantity": "quantity",
                "price": "price", "trade_date": "trade date", "settlement_date": "settlement date"}


@register.filter
def field_label(name):
    """"settlement_date" -> "settlement date"; an unknown name as it is, underscores as spaces."""
    return FIELD_LABELS.get(name, str(name).replace("_", " "))


@register.filter
def age_class(days):
    """The class of an age in days: age-old from 3 days, age-1 from 1, nothing on the day received."""
    if days is None:
        return ""
    return "age-old" if days >= 3 else "age-1" if days >= 1 else ""
