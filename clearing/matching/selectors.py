"""Reads of confirmation matching: confirmations, the breaks queue, a break field by field, tolerances.

Filters are already parsed: counterparties, accounts and instruments are resolved rows.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Count, Max, Min, Q, QuerySet
from django.utils import timezone

from clearing.models import Confirmation, MatchTolerance
from records.reference.models import Account, Counterparty, Instrument
from records.trades.models import Trade

OPEN_STATUSES = tuple(Confirmation.OPEN_STATUSES)
DEAD_TRADE_STATUSES = ("CANCELLED", "REJECTED")


def confirmation_list() -> QuerySet[Confirmation]:
    """Every confirmation, newest first, with what a row shows."""
    return (Confirmation.objects.select_related("counterparty", "account", "instrument", "trade", "submitted_by",
                                                "resolved_by").order_by("-id"))


def confirmation_get(confirmation_id: int) -> Confirmation | None:
    return confirmation_list().filter(pk=confirmation_id).first()


def confirmations_by_id(ids: Sequence[int]) -> dict[int, Confirmation]:
    return {c.pk: c for c in confirmation_list().filter(pk__in=list(ids))}


def _filtered(rows: QuerySet, *, match_status: str | None = None, counterparty: Counterparty | None = None,
              account: Account | None = None, instruments: Sequence[Instrument] | None = None,
              trade_date: date | None = None, date_from: date | None = None, date_to: date | None = None,
              counterparty_ref: str | None = None, source: str | None = None) -> QuerySet:
    if match_status:
        rows = rows.filter(match_status=match_status)
    if counterparty is not None:
        rows = rows.filter(counterparty=counterparty)
    if account is not None:
        rows = rows.filter(account=account)
    if instruments is not None:
        rows = rows.filter(instrument__in=instruments)
    if trade_date:
        rows = rows.filter(trade_date=trade_date)
    if date_from:
        rows = rows.filter(trade_date__gte=date_from)
    if date_to:
        rows = rows.filter(trade_date__lte=date_to)
    if counterparty_ref:
        prefix = counterparty_ref.removesuffix("*")
        rows = (rows.filter(counterparty_ref__startswith=prefix) if prefix != counterparty_ref
                else rows.filter(counterparty_ref=counterparty_ref))
    if source:
        rows = rows.filter(source=source)
    return rows


def confirmation_search(**filters) -> QuerySet[Confirmation]:
    """The confirmations matching every given filter, newest (highest id) first."""
    return _filtered(confirmation_list(), **filters)


def confirmation_status_counts(confirmations: QuerySet[Confirmation]) -> dict[str, int]:
    """How many of these confirmations are in each match status (every status, zero included)."""
    counts = dict(confirmations.order_by().values_list("match_status").annotate(n=Count("id")))
    return {status: counts.get(status, 0) for status in Confirmation.MatchStatus.values}


# The breaks queue ---------------------------------------------------------------------------------

def break_queue(*, min_age_days: int | None = None, today: date | None = None, **filters) -> QuerySet[Confirmation]:
    """The open confirmations (MISMATCHED and UNMATCHED) matching the filters, oldest received first."""
    rows = _filtered(confirmation_list().filter(match_status__in=OPEN_STATUSES), **filters)
    if min_age_days:
        today = today or timezone.localdate()
        cutoff = timezone.make_aware(datetime.combine(today - timedelta(days=min_age_days - 1), datetime.min.time()))
        rows = rows.filter(received_at__lt=cutoff)
    return rows.order_by("received_at", "id")


def age_days(received_at: datetime, *, today: date | None = None) -> int:
    """Whole days since the confirmation was received (0 on the day itself), in the dashboard's time zone."""
    return ((today or timezone.localdate()) - timezone.localtime(received_at).date()).days


@dataclass(frozen=True)
class BreakTotals:
    count: int
    mismatched: int
    unmatched: int
    oldest_received: datetime | None
    by_counterparty: list[tuple[str, int]]

    @property
    def oldest_age_days(self) -> int | None:
        return None if self.oldest_received is None else age_days(self.oldest_received)


def break_totals(breaks: QuerySet[Confirmation]) -> BreakTotals:
    """Counts of the queue (per status and per counterparty) and its oldest break."""
    rows = breaks.order_by()
    by_status = dict(rows.values_list("match_status").annotate(n=Count("id")))
    oldest = rows.aggregate(oldest=Min("received_at"))["oldest"]
    by_counterparty = list(rows.values_list("counterparty__code").annotate(n=Count("id")).order_by("-n",
                                                                                                "counterparty__code"))
    return BreakTotals(count=sum(by_status.values()), mismatched=by_status.get("MISMATCHED", 0),
                       unmatched=by_status.get("UNMATCHED", 0), oldest_received=oldest,
                       by_counterparty=by_counterparty)


@dataclass(frozen=True)
class BreakField:
    """One line of a break: our trade's value, the counterparty's, and whether they disagree."""

    field: str
    label: str
    ours: object
    theirs: object
    differs: bool
    note: str = ""


_LABELS = {"account": "Account", "instrument": "Instrument", "side": "Side", "quantity": "Quantity",
           "price": "Price", "trade_date": "Trade date", "settlement_date": "Settlement date"}


def break_fields(confirmation: Confirmation) -> list[BreakField]:
    """The confirmation beside the trade it was compared with (its closest candidate, or the trade it
    matched), field by field; `differs` as matching found it (the price within tolerance agrees).

    Without a trade (UNMATCHED) the "ours" side is empty.
    """
    trade = confirmation.trade
    differing = {m.get("field") for m in confirmation.mismatches or [] if isinstance(m, dict)}
    if trade is None:
        ours = dict.fromkeys(_LABELS)
    else:
        ours = {"account": trade.account, "instrument": trade.instrument, "side": trade.side,
                "quantity": trade.quantity, "price": trade.price, "trade_date": trade.trade_date,
                "settlement_date": trade.settlement_date}
    theirs = {"account": confirmation.account, "instrument": confirmation.instrument, "side": confirmation.side,
              "quantity": confirmation.quantity, "price": confirmation.price,
              "trade_date": confirmation.trade_date, "settlement_date": confirmation.settlement_date}
    notes = {}
    if trade is not None:
        their_side, our_side = confirmation.side.lower(), trade.side.lower()
        notes["side"] = (f"their {their_side} confirms our {our_side}" if their_side != our_side
                         else f"their {their_side} should be our {'sell' if our_side == 'buy' else 'buy'}")
    if trade is not None and "price" not in differing and trade.price != confirmation.price:
        notes["price"] = "within the tolerance"
    return [BreakField(name, label, ours[name], theirs[name], name in differing, notes.get(name, ""))
            for name, label in _LABELS.items()]


def break_candidate_trades(confirmation: Confirmation, *, limit: int = 20) -> list[Trade]:
    """Trades the confirmation could be force-matched to: not matched, neither cancelled nor rejected, with
    its counterparty, in its account, instrument and trade date, or the trade it names; the closest first."""
    candidates = (Trade.objects.select_related("account", "instrument")
                  .filter(counterparty_id=confirmation.counterparty_id)
                  .exclude(status__in=DEAD_TRADE_STATUSES).exclude(match_status=Trade.MatchStatus.MATCHED))
    group = Q(account_id=confirmation.account_id, instrument_id=confirmation.instrument_id,
              trade_date=confirmation.trade_date)
    if confirmation.trade_ref:
        group |= Q(external_ref=confirmation.trade_ref)
    rows = list(candidates.filter(group).order_by("id")[:limit])
    rows.sort(key=lambda t: (t.pk != confirmation.trade_id, t.quantity != confirmation.quantity,
                             abs(t.quantity - confirmation.quantity), abs(t.price - confirmation.price), t.pk))
    return rows


def open_confirmation_id_span() -> tuple[int | None, int | None]:
    """The lowest and highest id of the open confirmations (None, None when there is none)."""
    span = Confirmation.objects.filter(match_status__in=OPEN_STATUSES).aggregate(low=Min("id"), high=Max("id"))
    return span["low"], span["high"]


def match_tolerance_list() -> QuerySet[MatchTolerance]:
    return MatchTolerance.objects.order_by("asset_class")


def confirmation_for_trade(trade_id: int) -> Confirmation | None:
    """The confirmation matched to a trade, else the latest one compared with it (for the trade's page)."""
    rows = confirmation_list().filter(trade_id=trade_id)
    return rows.filter(match_status=Confirmation.MatchStatus.MATCHED).first() or rows.first()
