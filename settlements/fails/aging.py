"""Fails seen on a date: ages and buckets, aging and penalty figures of the dashboard and the API.

What needs the settlement calendars (records.reference.services.calendar, through settlements.fails.rules)
on top of the reads of settlements.fails.selectors, which may not import a service. Reads only: an age
is computed once per (market, fail date), never per row.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Q, QuerySet

from records.reference import selectors as reference_selectors
from records.reference.models import Market
from settlements.fails import rules, selectors
from settlements.models import SettlementFail


def markets_by_mic() -> dict[str, Market]:
    return {market.mic: market for market in reference_selectors.market_list()}


def bucket_filter(*, as_of: date, bucket: str) -> Q:
    """The fails in an age bucket on as_of: per market, a range of fail dates (rules.bucket_failed_on_bounds)."""
    condition = Q(pk__in=[])
    for mic, market in markets_by_mic().items():
        earliest, before = rules.bucket_failed_on_bounds(market=market, as_of=as_of, bucket=bucket)
        clause = Q(instruction__instrument__market_id=mic)
        if earliest is not None:
            clause &= Q(failed_on__gte=earliest)
        if before is not None:
            clause &= Q(failed_on__lt=before)
        condition |= clause
    return condition


def with_ages(fails, *, as_of: date) -> list[SettlementFail]:
    """Set age_days, age_bucket, deadline_state and payable on each fail (its instrument loaded).

    A fail closed by as_of ages until the day it closed and has no deadline to meet.
    """
    markets = markets_by_mic()
    rows = list(fails)
    for fail in rows:
        market = markets[fail.instruction.instrument.market_id]
        closed = fail.closed_on is not None and fail.closed_on <= as_of
        fail.age_days = rules.fail_age_days(market=market, failed_on=fail.failed_on,
                                            as_of=fail.closed_on if closed else as_of)
        fail.age_bucket = rules.age_bucket(fail.age_days)
        fail.deadline_state = rules.deadline_state(deadline=fail.close_out_deadline, as_of=as_of, closed=closed)
        fail.payable = rules.penalty_payable(kind=fail.kind, cause=fail.cause)
    return rows


@dataclass
class Bucket:
    code: str
    label: str
    count: int = 0
    values: dict[str, Decimal] = field(default_factory=dict)
    unpriced: int = 0


@dataclass
class CounterpartyFigures:
    code: str
    name: str
    count: int = 0
    values: dict[str, Decimal] = field(default_factory=dict)
    oldest: date | None = None


@dataclass
class Aging:
    buckets: list[Bucket]
    counterparties: list[CounterpartyFigures]
    currencies: list[str]
    count: int = 0
    totals: dict[str, Decimal] = field(default_factory=dict)
    unpriced: int = 0


def fail_aging(fails: QuerySet[SettlementFail], *, as_of: date) -> Aging:
    """Return the fails (selectors.fail_list's queryset) by age bucket and by counterparty, most fails first:
    counts and values (unsettled quantity x closing price) per currency."""
    markets = markets_by_mic()
    buckets = {code: Bucket(code, code.replace("-", "–")) for code in rules.AGE_BUCKET_CODES}
    counterparties: dict[str, CounterpartyFigures] = {}
    aging = Aging(buckets=list(buckets.values()), counterparties=[], currencies=[])
    for group in selectors.fail_groups(fails):
        market = markets[group["instruction__instrument__market_id"]]
        age = rules.fail_age_days(market=market, failed_on=group["failed_on"], as_of=as_of)
        currency, count, value = group["instruction__currency"], group["count"], group["value"] or Decimal(0)
        unpriced = count - group["priced"]
        bucket = buckets[rules.age_bucket(age)]
        code = group["instruction__counterparty__code"]
        party = counterparties.setdefault(code, CounterpartyFigures(code, group["instruction__counterparty__name"]))
        for figures in (bucket, party, aging):
            figures.count += count
        for values in (bucket.values, party.values, aging.totals):
            values[currency] = values.get(currency, Decimal(0)) + value
        bucket.unpriced += unpriced
        aging.unpriced += unpriced
        if party.oldest is None or group["failed_on"] < party.oldest:
            party.oldest = group["failed_on"]
    for figures in (*buckets.values(), *counterparties.values()):
        figures.values = dict(sorted(figures.values.items()))
    aging.totals = dict(sorted(aging.totals.items()))
    aging.currencies = sorted(aging.totals)
    aging.counterparties = sorted(counterparties.values(), key=lambda party: (-party.count, party.code))
    return aging


def penalty_summary(*, as_of: date, day: date | None = None) -> list[dict]:
    """Return per currency the penalties of `day` (default as_of) and of as_of's month up to as_of, payable and
    receivable.

    CSDR penalties are reported and paid monthly: the month to date is what the next bill will hold.
    Payable: fails where we are the failing party (rules.penalty_payable); receivable: the counterparty's.
    """
    summary: dict[str, dict] = {}
    for row in selectors.penalty_groups(month_from=as_of.replace(day=1), date_to=as_of, day=day or as_of):
        entry = summary.setdefault(row["currency"], {
            "currency": row["currency"], "day_payable": Decimal(0), "day_receivable": Decimal(0),
            "payable": Decimal(0), "receivable": Decimal(0), "fails": 0})
        side = "payable" if rules.penalty_payable(kind=row["fail__kind"], cause=row["fail__cause"]) else "receivable"
        entry[side] += row["total"]
        entry[f"day_{side}"] += row["day"]
        entry["fails"] += row["fails"]
    for entry in summary.values():
        entry["net"] = entry["receivable"] - entry["payable"]
    return list(summary.values())
