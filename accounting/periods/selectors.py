"""Reads of accounting periods (calendar months): their status, and the entries each holds."""

import calendar
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import QuerySet, Sum
from django.db.models.functions import TruncMonth

from accounting.models import DayEntries, DayTotal, Period
from backoffice.core.exceptions import BusinessRuleError

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def add_months(day: date, months: int) -> date:
    """The first day of the month `months` after (or before, negative) day's month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def parse_month(value, *, field: str = "month") -> date:
    """The first day of a month given as YYYY-MM; BusinessRuleError otherwise."""
    match = _MONTH.fullmatch(value) if isinstance(value, str) else None
    if match is None or not 1 <= int(match[2]) <= 12 or int(match[1]) < 1:
        raise BusinessRuleError("A month as YYYY-MM, e.g. 2026-10.", field=field)
    return date(int(match[1]), int(match[2]), 1)


def period_list(*, status: str | None = None) -> QuerySet[Period]:
    """The months that were ever closed (a month without a row is open), newest first."""
    rows = Period.objects.select_related("closed_by").order_by("-start")
    if status:
        rows = rows.filter(status=status)
    return rows


def period_get(month: date) -> Period:
    """The period of a month: its row, or an unsaved open one when it was never closed."""
    start = month_start(month)
    row = period_list().filter(start=start).first()
    return row if row is not None else Period(start=start, end=month_end(start), status=Period.Status.OPEN)


def period_is_closed(day: date) -> bool:
    return Period.objects.filter(start__lte=day, end__gte=day, status=Period.Status.CLOSED).exists()


@dataclass
class PeriodRow:
    """A month of the periods page: its period, how many entries it holds and their debits in base."""

    period: Period
    entries: int
    debits: Decimal

    @property
    def month(self) -> str:
        return f"{self.period.start:%Y-%m}"


def period_months(*, today: date, count: int = 24) -> list[PeriodRow]:
    """The last `count` months up to today's, newest first, each with its entries and base debits (three queries)."""
    first = add_months(today, -(count - 1))
    last = month_end(today)
    stored = {row.start: row for row in period_list().filter(start__gte=first, start__lte=last)}
    # From the day totals the triggers keep (accounting.models.DayEntries, DayTotal): the entries' and lines'
    # own sums, read from tables of a few rows per day.
    entries = dict(DayEntries.objects.filter(entry_date__gte=first, entry_date__lte=last)
                   .annotate(month=TruncMonth("entry_date")).values("month").order_by()
                   .annotate(n=Sum("entries")).values_list("month", "n"))
    debits = dict(DayTotal.objects.filter(entry_date__gte=first, entry_date__lte=last)
                  .annotate(month=TruncMonth("entry_date")).values("month").order_by()
                  .annotate(total=Sum("base_debits")).values_list("month", "total"))
    rows = []
    for offset in range(count):
        start = add_months(today, -offset)
        period = stored.get(start) or Period(start=start, end=month_end(start), status=Period.Status.OPEN)
        rows.append(PeriodRow(period, entries.get(start, 0), debits.get(start) or Decimal(0)))
    return rows
