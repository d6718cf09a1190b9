"""Reads of settlements' fails: open fails as of a date with their penalties, a fail, aging and summaries.

A fail is open on a date when it had failed by then and was not closed by then:
failed_on <= as_of and (closed_on is null or closed_on > as_of). Ages need the settlement
calendars (a service of records): settlements.fails.aging adds them to what these reads return.
"""

from collections import defaultdict
from datetime import date
from decimal import Decimal

from django.db.models import Count, DecimalField, ExpressionWrapper, F, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Abs, Coalesce
from django.utils import timezone

from records.reference.models import Price
from settlements.models import FailPenalty, SettlementFail, SettlementMovement

_AMOUNT = DecimalField(max_digits=24, decimal_places=4)
_VALUE = DecimalField(max_digits=48, decimal_places=14)
_QUANTITY = DecimalField(max_digits=24, decimal_places=6)


def open_on(as_of: date, prefix: str = "") -> Q:
    """The fails open on as_of (failed by then, not closed by then)."""
    return (Q(**{f"{prefix}failed_on__lte": as_of})
            & (Q(**{f"{prefix}closed_on__isnull": True}) | Q(**{f"{prefix}closed_on__gt": as_of})))


def _penalty_sum(as_of: date, *, since: date | None = None) -> Subquery:
    penalties = FailPenalty.objects.filter(fail=OuterRef("pk"), penalty_date__lte=as_of)
    if since is not None:
        penalties = penalties.filter(penalty_date__gte=since)
    return Subquery(penalties.order_by().values("fail").annotate(total=Sum("amount")).values("total")[:1],
                    output_field=_AMOUNT)


def unsettled_on(as_of: date):
    """What a fail had unsettled on as_of: what it has unsettled now plus what settled after as_of."""
    later = (SettlementMovement.objects.filter(instruction=OuterRef("instruction_id"), value_date__gt=as_of)
             .order_by().values("instruction").annotate(total=Sum(Abs("quantity"))).values("total")[:1])
    return ExpressionWrapper(F("unsettled_quantity") + Coalesce(Subquery(later, output_field=_QUANTITY),
                                                                Value(Decimal(0))), output_field=_QUANTITY)


def _reference_price(as_of: date) -> Subquery:
    # The latest closing price on or before as_of in the instruction's currency (newest update between sources),
    # as the penalty job takes it.
    latest = (Price.objects.filter(instrument=OuterRef("instruction__instrument_id"), price_date__lte=as_of,
                                   currency=OuterRef("instruction__currency"))
              .order_by("-price_date", "-updated_at", "-id").values("price")[:1])
    return Subquery(latest)


def fail_list(*, as_of: date, account: str | None = None, counterparty: str | None = None,
              instrument: str | None = None, instruments=None, kind: str | None = None, cause: str | None = None,
              regsho: str | None = None) -> QuerySet[SettlementFail]:
    """Return the fails open on as_of, oldest first, with penalty_accrued (Σ penalties up to as_of),
    unsettled_on (what was unsettled on as_of), reference_price and value (unsettled_on x reference
    price, null when unpriced).

    account and counterparty are codes, instrument an ISIN (instruments: a list of instruments); regsho
    "due" (deadline on as_of), "overdue" (before it) or "due-or-overdue". Age buckets are
    settlements.fails.aging's (they need the calendars).
    """
    fails = SettlementFail.objects.filter(open_on(as_of))
    if account:
        fails = fails.filter(instruction__account__code=account)
    if counterparty:
        fails = fails.filter(instruction__counterparty__code=counterparty)
    if instrument:
        fails = fails.filter(instruction__instrument__isin=instrument)
    if instruments is not None:
        fails = fails.filter(instruction__instrument__in=instruments)
    if kind:
        fails = fails.filter(kind=kind)
    if cause:
        fails = fails.filter(cause=cause)
    if regsho == "due":
        fails = fails.filter(close_out_deadline=as_of)
    elif regsho == "overdue":
        fails = fails.filter(close_out_deadline__lt=as_of)
    elif regsho == "due-or-overdue":
        fails = fails.filter(close_out_deadline__lte=as_of)
    return (fails.select_related("instruction__account", "instruction__counterparty", "instruction__instrument")
            .annotate(penalty_accrued=Coalesce(_penalty_sum(as_of), Value(Decimal(0)), output_field=_AMOUNT),
                      reference_price=_reference_price(as_of), unsettled_on=unsettled_on(as_of))
            .annotate(value=ExpressionWrapper(F("unsettled_on") * F("reference_price"), output_field=_VALUE))
            .order_by("failed_on", "id"))


def fail_get(fail_id: int, *, as_of: date | None = None) -> SettlementFail | None:
    """Return the fail with its instruction, the instruction's parties, instrument, market and SSI, and
    unsettled_on (what was unsettled on as_of, default today)."""
    return (SettlementFail.objects
            .select_related("instruction__account", "instruction__counterparty", "instruction__instrument__market",
                            "instruction__ssi")
            .annotate(unsettled_on=unsettled_on(as_of or timezone.localdate()))
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


# --- grouped rows the dashboard's figures are made of (settlements.fails.aging) ---

def fail_groups(fails: QuerySet[SettlementFail]):
    """Return fail_list's fails grouped by (market, fail date, counterparty, currency): count, value, priced."""
    return (fails.order_by()
            .values("instruction__instrument__market_id", "failed_on", "instruction__counterparty__code",
                    "instruction__counterparty__name", "instruction__currency")
            .annotate(count=Count("id"), value=Sum("value"), priced=Count("reference_price")))


def penalty_groups(*, month_from: date, date_to: date, day: date):
    """Return the penalties per (currency, kind and cause of fail): of `day` (day) and from month_from to date_to
    (total)."""
    return (FailPenalty.objects.filter(Q(penalty_date__gte=month_from, penalty_date__lte=date_to) | Q(penalty_date=day))
            .values("currency", "fail__kind", "fail__cause")
            .annotate(day=Sum("amount", filter=Q(penalty_date=day), default=Decimal(0)),
                      total=Sum("amount", filter=Q(penalty_date__gte=month_from, penalty_date__lte=date_to),
                                default=Decimal(0)),
                      fails=Count("fail", filter=Q(penalty_date__gte=month_from, penalty_date__lte=date_to),
                                  distinct=True))
            .order_by("currency"))


def close_outs_due(*, as_of: date) -> QuerySet[SettlementFail]:
    """Return the open fails whose Reg SHO close-out deadline is as_of or before, most overdue first."""
    return (SettlementFail.objects.filter(open_on(as_of), close_out_deadline__lte=as_of)
            .select_related("instruction__account", "instruction__counterparty", "instruction__instrument")
            .annotate(unsettled_on=unsettled_on(as_of)).order_by("close_out_deadline", "id"))


def fail_totals(fails: QuerySet[SettlementFail]) -> list[dict]:
    """Return fail_list's fails per currency: how many, Σ value (the priced ones), Σ penalties accrued."""
    return list(fails.order_by().values("instruction__currency")
                .annotate(count=Count("id"), value=Sum("value"), penalty=Sum("penalty_accrued"),
                          unpriced=Count("id") - Count("reference_price"))
                .order_by("instruction__currency"))


def close_out_counts(*, as_of: date) -> dict[str, int]:
    """Return how many open fails have their Reg SHO close-out deadline on as_of (due) or before it (overdue)."""
    return SettlementFail.objects.filter(open_on(as_of), close_out_deadline__lte=as_of).aggregate(
        due=Count("id", filter=Q(close_out_deadline=as_of)),
        overdue=Count("id", filter=Q(close_out_deadline__lt=as_of)), total=Count("id"))
