"""Reads of settlements' fails: open fails as of a date with their penalties, a fail, aging and summaries.

A fail is open on a date when it had failed by then and was not closed by then:
failed_on <= as_of and (closed_on is null or closed_on > as_of). Ages are in settlement days of the
instrument's market (settlements.fails.rules), computed in Python per (market, failed_on), never per row.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Count, DecimalField, ExpressionWrapper, F, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from records.reference import selectors as reference_selectors
from records.reference.models import Market, Price
from settlements.fails import rules
from settlements.models import FailPenalty, SettlementFail

_AMOUNT = DecimalField(max_digits=24, decimal_places=4)
_VALUE = DecimalField(max_digits=48, decimal_places=14)


def open_on(as_of: date, prefix: str = "") -> Q:
    """The fails open on as_of (failed by then, not closed by then)."""
    return (Q(**{f"{prefix}failed_on__lte": as_of})
            & (Q(**{f"{prefix}closed_on__isnull": True}) | Q(**{f"{prefix}closed_on__gt": as_of})))


def markets_by_mic() -> dict[str, Market]:
    return {market.mic: market for market in reference_selectors.market_list()}


def _penalty_sum(as_of: date, *, since: date | None = None) -> Subquery:
    penalties = FailPenalty.objects.filter(fail=OuterRef("pk"), penalty_date__lte=as_of)
    if since is not None:
        penalties = penalties.filter(penalty_date__gte=since)
    return Subquery(penalties.order_by().values("fail").annotate(total=Sum("amount")).values("total")[:1],
                    output_field=_AMOUNT)


def _reference_price(as_of: date) -> Subquery:
    # The latest closing price on or before as_of in the instruction's currency (newest update between sources),
    # as the penalty job takes it.
    latest = (Price.objects.filter(instrument=OuterRef("instruction__instrument_id"), price_date__lte=as_of,
                                   currency=OuterRef("instruction__currency"))
              .order_by("-price_date", "-updated_at", "-id").values("price")[:1])
    return Subquery(latest)


def fail_list(*, as_of: date, account: str | None = None, counterparty: str | None = None,
              instrument: str | None = None, kind: str | None = None, cause: str | None = None,
              bucket: str | None = None, regsho: str | None = None) -> QuerySet[SettlementFail]:
    """Return the fails open on as_of, oldest first, with penalty_accrued (Σ penalties up to as_of),
    reference_price and value (unsettled quantity x reference price, null when unpriced).

    account and counterparty are codes, instrument an ISIN; bucket an age bucket code (rules.AGE_BUCKETS);
    regsho "due" (deadline on as_of), "overdue" (before it) or "due-or-overdue".
    """
    fails = SettlementFail.objects.filter(open_on(as_of))
    if account:
        fails = fails.filter(instruction__account__code=account)
    if counterparty:
        fails = fails.filter(instruction__counterparty__code=counterparty)
    if instrument:
        fails = fails.filter(instruction__instrument__isin=instrument)
    if kind:
        fails = fails.filter(kind=kind)
    if cause:
        fails = fails.filter(cause=cause)
    if bucket:
        fails = fails.filter(bucket_filter(as_of=as_of, bucket=bucket))
    if regsho == "due":
        fails = fails.filter(close_out_deadline=as_of)
    elif regsho == "overdue":
        fails = fails.filter(close_out_deadline__lt=as_of)
    elif regsho == "due-or-overdue":
        fails = fails.filter(close_out_deadline__lte=as_of)
    return (fails.select_related("instruction__account", "instruction__counterparty", "instruction__instrument")
            .annotate(penalty_accrued=Coalesce(_penalty_sum(as_of), Value(Decimal(0)), output_field=_AMOUNT),
                      reference_price=_reference_price(as_of))
            .annotate(value=ExpressionWrapper(F("unsettled_quantity") * F("reference_price"), output_field=_VALUE))
            .order_by("failed_on", "id"))


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
    """Set age_days, age_bucket and deadline_state on each fail (its instrument and market loaded)."""
    markets = markets_by_mic()
    rows = list(fails)
    for fail in rows:
        market = markets[fail.instruction.instrument.market_id]
        fail.age_days = rules.fail_age_days(market=market, failed_on=fail.failed_on, as_of=as_of)
        fail.age_bucket = rules.age_bucket(fail.age_days)
        fail.deadline_state = rules.deadline_state(deadline=fail.close_out_deadline, as_of=as_of,
                                                   closed=fail.closed_on is not None and fail.closed_on <= as_of)
        fail.payable = rules.penalty_payable(kind=fail.kind, cause=fail.cause)
    return rows


def fail_get(fail_id: int) -> SettlementFail | None:
    """Return the fail with its instruction, the instruction's parties, instrument, market and SSI."""
    return (SettlementFail.objects
            .select_related("instruction__account", "instruction__counterparty", "instruction__instrument__market",
                            "instruction__ssi")
            .filter(pk=fail_id).first())


def fail_penalties(fail: SettlementFail, *, as_of: date | None = None) -> QuerySet[FailPenalty]:
    """Return the fail's penalties day by day (up to as_of when given)."""
    penalties = FailPenalty.objects.filter(fail=fail)
    if as_of is not None:
        penalties = penalties.filter(penalty_date__lte=as_of)
    return penalties.order_by("penalty_date")


def fail_penalty_accrued(fail: SettlementFail, *, as_of: date) -> Decimal:
    return fail_penalties(fail, as_of=as_of).aggregate(total=Sum("amount", default=Decimal(0)))["total"]


def penalties_by_fail(fail_ids, *, as_of: date) -> dict[int, list[FailPenalty]]:
    """Return the penalties up to as_of of several fails at once, per fail id, day by day."""
    found = defaultdict(list)
    for penalty in FailPenalty.objects.filter(fail_id__in=list(fail_ids), penalty_date__lte=as_of).order_by(
            "fail_id", "penalty_date"):
        found[penalty.fail_id].append(penalty)
    return found


def fail_open_bounds(*, as_of: date, per_chunk: int) -> list[int]:
    """Return the fail ids at which a new chunk of per_chunk open fails starts (the penalty job's chunks)."""
    ids = SettlementFail.objects.filter(open_on(as_of)).order_by("id").values_list("id", flat=True)
    return list(ids[per_chunk::per_chunk]) if per_chunk > 0 else []


# --- the dashboard's figures ---


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
    """Return the fails (fail_list's queryset) by age bucket and by counterparty: counts and values per currency.

    One grouped query by (market, fail date, counterparty, currency); ages computed once per group.
    """
    groups = (fails.order_by()
              .values("instruction__instrument__market_id", "failed_on", "instruction__counterparty__code",
                      "instruction__counterparty__name", "instruction__currency")
              .annotate(count=Count("id"), value=Sum("value"), priced=Count("reference_price")))
    markets = markets_by_mic()
    buckets = {code: Bucket(code, code.replace("-", "–")) for code in rules.AGE_BUCKET_CODES}
    counterparties: dict[str, CounterpartyFigures] = {}
    aging = Aging(buckets=list(buckets.values()), counterparties=[], currencies=[])
    currencies = set()
    for group in groups:
        market = markets[group["instruction__instrument__market_id"]]
        age = rules.fail_age_days(market=market, failed_on=group["failed_on"], as_of=as_of)
        currency, count, value = group["instruction__currency"], group["count"], group["value"] or Decimal(0)
        unpriced = count - group["priced"]
        bucket = buckets[rules.age_bucket(age)]
        party = counterparties.setdefault(group["instruction__counterparty__code"], CounterpartyFigures(
            group["instruction__counterparty__code"], group["instruction__counterparty__name"]))
        for figures in (bucket, party):
            figures.count += count
            figures.values[currency] = figures.values.get(currency, Decimal(0)) + value
        bucket.unpriced += unpriced
        if party.oldest is None or group["failed_on"] < party.oldest:
            party.oldest = group["failed_on"]
        aging.count += count
        aging.unpriced += unpriced
        aging.totals[currency] = aging.totals.get(currency, Decimal(0)) + value
        currencies.add(currency)
    aging.currencies = sorted(currencies)
    aging.counterparties = sorted(counterparties.values(), key=lambda party: (-party.count, party.code))
    return aging


def penalty_summary(*, as_of: date) -> list[dict]:
    """Return per currency the penalties of as_of and of its month up to as_of, payable and receivable.

    CSDR penalties are reported and paid monthly: the month to date is what the next bill will hold.
    Payable: fails where we are the failing party (rules.penalty_payable); receivable: the counterparty's.
    """
    month = as_of.replace(day=1)
    rows = (FailPenalty.objects.filter(penalty_date__gte=month, penalty_date__lte=as_of)
            .values("currency", "fail__kind", "fail__cause")
            .annotate(day=Sum("amount", filter=Q(penalty_date=as_of), default=Decimal(0)),
                      month_to_date=Sum("amount", default=Decimal(0)), fails=Count("fail", distinct=True))
            .order_by("currency"))
    summary: dict[str, dict] = {}
    for row in rows:
        entry = summary.setdefault(row["currency"], {
            "currency": row["currency"], "day_payable": Decimal(0), "day_receivable": Decimal(0),
            "payable": Decimal(0), "receivable": Decimal(0), "fails": 0})
        side = "payable" if rules.penalty_payable(kind=row["fail__kind"], cause=row["fail__cause"]) else "receivable"
        entry[side] += row["month_to_date"]
        entry[f"day_{side}"] += row["day"]
        entry["fails"] += row["fails"]
    for entry in summary.values():
        entry["net"] = entry["receivable"] - entry["payable"]
    return list(summary.values())


def close_outs_due(*, as_of: date) -> QuerySet[SettlementFail]:
    """Return the open fails whose Reg SHO close-out deadline is as_of or before, most overdue first."""
    return (SettlementFail.objects.filter(open_on(as_of), close_out_deadline__lte=as_of)
            .select_related("instruction__account", "instruction__counterparty", "instruction__instrument")
            .order_by("close_out_deadline", "id"))
