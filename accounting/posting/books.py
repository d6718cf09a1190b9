"""What posting needs to know besides the events: the chart's roles, FX rates, closed periods.

Each is read once per chunk (small tables) and then answered from memory.
"""

import bisect
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import connection

from accounting.models import GLAccount, Period
from backoffice.core.exceptions import BusinessRuleError
from records.reference.models import FxRate
from records.reference.validators import currency_exponent

CENT = Decimal("0.0001")  # the amount fields' scale
RATE_SCALE = Decimal("0.0000000001")


def base_currency() -> str:
    return settings.ACCOUNTING_BASE_CURRENCY


def round_amount(value: Decimal) -> Decimal:
    """Round to the amount fields' four places, half away from zero (as netting and settlement do)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


class Unpostable(Exception):
    """An event that cannot post yet (no FX rate, no price): it stays unposted, with this reason."""


def gl_roles() -> dict[str, int]:
    """Map each role of the chart to its GL account id (raise if a role a rule needs is missing)."""
    return dict(GLAccount.objects.exclude(role=None).values_list("role", "id"))


class FxBook:
    """Rates to the base currency on or before a date: 1 unit of a currency = rate units of base.

    Either direction of a stored pair serves (EUR/USD 1.08, or USD/EUR 0.925 inverted); the latest
    rate on or before the date wins, whichever direction it is stored in.
    """

    def __init__(self, currencies, *, until: date | None = None):
        self.base = base_currency()
        wanted = sorted(set(currencies) - {self.base})
        self._dates: dict[str, list[date]] = {}
        self._rates: dict[str, list[Decimal]] = {}
        if not wanted:
            return
        rows = (FxRate.objects.filter(base_currency__in=wanted, quote_currency=self.base)
                | FxRate.objects.filter(base_currency=self.base, quote_currency__in=wanted))
        if until is not None:
            rows = rows.filter(rate_date__lte=until)
        per: dict[str, dict[date, Decimal]] = {}
        for base, quote, day, rate, _source in rows.order_by("rate_date", "source").values_list(
                "base_currency", "quote_currency", "rate_date", "rate", "source"):
            currency = base if quote == self.base else quote
            value = rate if quote == self.base else (Decimal(1) / rate).quantize(RATE_SCALE, rounding=ROUND_HALF_UP)
            per.setdefault(currency, {})[day] = value
        for currency, by_day in per.items():
            days = sorted(by_day)
            self._dates[currency] = days
            self._rates[currency] = [by_day[d] for d in days]

    def rate(self, currency: str, day: date) -> Decimal:
        """Base units per unit of currency on day (raise Unpostable when no rate is stored on or before it)."""
        if currency == self.base:
            return Decimal(1)
        days = self._dates.get(currency, [])
        at = bisect.bisect_right(days, day)
        if at == 0:
            raise Unpostable(f"no {currency}/{self.base} FX rate on or before {day.isoformat()}")
        return self._rates[currency][at - 1]


def fx_rate_or_error(currency: str, day: date) -> Decimal:
    """The rate for one currency and day, or a BusinessRuleError naming what is missing (manual entries)."""
    try:
        currency_exponent(currency)
    except (KeyError, ValueError) as exc:
        raise BusinessRuleError(f"Unknown currency {currency!r}.", field="currency") from exc
    try:
        return FxBook([currency], until=day).rate(currency, day)
    except Unpostable as exc:
        raise BusinessRuleError(f"Cannot convert to {base_currency()}: {exc}.", field="currency") from exc


_PERIODS = 'SELECT start, "end", status FROM accounting_period ORDER BY start'
_PERIODS_LOCKED = _PERIODS + " FOR SHARE"


@dataclass
class PeriodBook:
    """The closed periods: an event dated in one posts on the first open day after it."""

    closed: list[tuple[date, date]]

    @classmethod
    def load(cls, *, lock: bool = False) -> "PeriodBook":
        """Read the closed periods; lock=True also takes a share lock on every period row, so a period
        cannot close while the caller's transaction posts (closing updates the row)."""
        with connection.cursor() as cursor:
            cursor.execute(_PERIODS_LOCKED if lock else _PERIODS)
            rows = cursor.fetchall()
        return cls([(start, end) for start, end, status in rows if status == Period.Status.CLOSED])

    def posting_date(self, day: date) -> date:
        """day, or the first day after the closed periods that hold it."""
        for start, end in self.closed:
            if start <= day <= end:
                day = end + timedelta(days=1)
        return day

    def is_closed(self, day: date) -> bool:
        return any(start <= day <= end for start, end in self.closed)
