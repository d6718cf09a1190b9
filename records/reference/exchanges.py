"""Exchanges as exchange-calendars describes them, by MIC: the calendar object and the market's time zone.

Pure lookups, cached per process, so models and selectors can use them as well as the calendar services.
"""

import datetime as dt
from functools import cache


@cache
def exchange_calendar(mic: str):
    """Return the exchange-calendars calendar of a MIC (building one takes a good fraction of a second)."""
    import exchange_calendars

    # Only the holiday rules, ad-hoc closure lists, weekmask and time zone are used, and they do not
    # depend on the calendar's session bounds, so the default bounds are fine.
    return exchange_calendars.get_calendar(mic)


@cache
def market_timezone(mic: str):
    return exchange_calendar(mic).tz


def market_date_at(*, mic: str, at: dt.datetime) -> dt.date:
    """Return the date it was at the market (by its MIC) at the aware datetime `at`."""
    return at.astimezone(market_timezone(mic)).date()
