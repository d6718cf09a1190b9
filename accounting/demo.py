"""Accounting for the demo firm: the accounting end of day of every past business day, oldest first.

``manage.py load_accounting_demo`` after ``load_settlement_demo`` (``make run`` runs them in that
order). Each day's end of day (accounting/posting/services.py, kind accounting-eod) posts what is not
posted yet (the first one: every trade, obligation, settlement, cash and stock movement and
penalty of the demo), marks the positions to market at that day's prices (reversed the next day),
revalues the foreign-currency balances at its rates and reconciles the ledger to the stock record
and the cash balances. A day with a completed end of day is skipped: safe to run again.
"""

import datetime as dt
import uuid
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from accounting.models import JournalEntry, Period
from accounting.periods.services import period_close
from accounting.posting.books import base_currency
from accounting.posting.services import EOD
from backoffice.core.context import correlation
from backoffice.core.jobs.models import JobRun
from backoffice.core.jobs.services import job_create, job_run_execute
from records.cash.models import CashMovement
from records.positions.models import StockMovement
from records.reference.models import FxRate, Price
from records.reference.services import reference
from records.trades.models import Trade

DEMO_ACTOR = "job:load_accounting_demo"
OPENING_SOURCE = "DEMO-OPENING"


@dataclass
class AccountingDemoSummary:
    days: list = field(default_factory=list)  # (as_of, entries, unpostable, breaks, status)
    opening: tuple = (0, 0)  # FX rates and prices recorded for the opening balances
    closed: list = field(default_factory=list)  # months closed
    deferred: bool = False  # the accounting end of day left to the end of day (runs=False)

    def lines(self) -> list[str]:
        head = [f"opening values   {self.opening[0]} FX rates and {self.opening[1]} prices recorded for the "
                "opening balances", f"periods closed   {', '.join(self.closed) or 'none'}"]
        if self.deferred:
            return [*head, "accounting       left to the end of day (load_eod_demo)"]
        if not self.days:
            return [*head, "accounting       every past business day already closed"]
        return head + [f"end of day {as_of}  {entries} entries, {unpostable} left unposted, {breaks} breaks ({status})"
                for as_of, entries, unpostable, breaks, status in self.days]


def past_business_days(today: dt.date) -> list[dt.date]:
    """Weekdays from the first trade date to yesterday without a completed accounting end of day, oldest first."""
    first = Trade.objects.aggregate(first=Min("trade_date"))["first"]
    if first is None or first >= today:
        return []
    done = set(JobRun.objects.filter(kind=EOD, status=JobRun.Status.COMPLETED).values_list("parameters__as_of",
                                                                                            flat=True))
    days = (first + dt.timedelta(days=n) for n in range((today - first).days))
    return [day for day in days if day.weekday() < 5 and day.isoformat() not in done]


def _opening_reference_data(summary: AccountingDemoSummary) -> None:
    """The demo's opening balances are dated before its price and FX history starts: record, on each opening
    date, the first price and the first FX rate the demo has, so the openings post at a known value."""
    base = base_currency()
    rates = []
    for currency, day in sorted(set(CashMovement.objects.exclude(currency=base).values_list("currency",
                                                                                           "value_date"))):
        if FxRate.objects.filter(base_currency=currency, quote_currency=base, rate_date__lte=day).exists():
            continue
        first = FxRate.objects.filter(base_currency=currency, quote_currency=base).order_by("rate_date").first()
        if first is not None:
            rates.append((currency, day, first.rate))
    for currency, day, rate in rates:
        reference.fx_rate_upsert(actor=DEMO_ACTOR, base_currency=currency, quote_currency=base, rate_date=day,
                                 rate=rate, source=OPENING_SOURCE, reason="demo opening balances")
    prices = []
    for instrument_id, day in sorted(set(StockMovement.objects.values_list("instrument_id", "value_date"))):
        if Price.objects.filter(instrument_id=instrument_id, price_date__lte=day).exists():
            continue
        first = Price.objects.filter(instrument_id=instrument_id).select_related("instrument").order_by(
            "price_date").first()
        if first is not None:
            prices.append(reference.PriceInput(instrument=first.instrument, price_date=day, price=first.price,
                                               currency=first.currency, source=OPENING_SOURCE))
    if prices:
        reference.price_upsert(actor=DEMO_ACTOR, prices=prices, reason="demo opening balances")
    summary.opening = (len(rates), len(prices))


def load_accounting_demo(*, today: dt.date | None = None, runs: bool = True) -> AccountingDemoSummary:
    """The opening values, then (runs) each past business day's accounting end of day, then the month-end closes.

    With runs=False only the opening values and the closes: the end of day (load_eod_demo) posts, marks
    and reconciles the dates, then closes the old months (close_old_months).
    """
    summary = AccountingDemoSummary(deferred=not runs)
    today = today or timezone.localdate()
    with correlation(f"{DEMO_ACTOR}:{uuid.uuid4().hex[:12]}"):
        with transaction.atomic():
            _opening_reference_data(summary)
        for day in past_business_days(today) if runs else ():
            with transaction.atomic():
                job = job_create(kind=EOD, params={"as_of": day.isoformat()}, started_by=DEMO_ACTOR)
            job = job_run_execute(job_id=job.pk)
            results = job.result or []
            entries = sum(chunk.get("entries", 0) for chunk in results) + sum(
                chunk.get("reversals", 0) for chunk in results)
            unpostable = sum(sum((chunk.get("unpostable") or {}).values()) for chunk in results)
            breaks = next((chunk["breaks"] for chunk in results if chunk.get("step") == "reconcile"), None)
            summary.days.append((day.isoformat(), entries, unpostable, breaks, job.status))
        close_old_months(summary, today)
    return summary


def close_old_months(summary: AccountingDemoSummary, today: dt.date) -> None:
    """Close the months with entries that ended before last month began, as a month-end close would have."""
    last_month = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    months = sorted({day.replace(day=1) for day in JournalEntry.objects.filter(entry_date__lt=last_month)
                     .dates("entry_date", "month")})
    closed = set(Period.objects.filter(status=Period.Status.CLOSED).values_list("start", flat=True))
    for month in months:
        if month not in closed:
            period_close(actor=DEMO_ACTOR, month=month, reason="demo: month-end close")
            summary.closed.append(f"{month:%Y-%m}")
