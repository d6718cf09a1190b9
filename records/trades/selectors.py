"""Reads of the trade blotter: the blotter and its totals, its CSV export, a trade's detail,
timeline and versions.

The blotter pages by keyset on id (newest first, backoffice.core.keyset), never by OFFSET, and
never counts more than BLOTTER_COUNT_CAP rows: a page of a million-trade blotter costs what a page
of a hundred does. Filters are already parsed: accounts, counterparties and instruments are
resolved rows.
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db.models import DecimalField, ExpressionWrapper, F, Q, QuerySet

from backoffice.core.keyset import KeysetPage
from records.reference.models import Account, Counterparty, Instrument
from records.trades.models import Trade, TradeEvent, TradeVersion

# The blotter counts (and totals) at most this many trades; beyond it, it says "10,000+".
BLOTTER_COUNT_CAP = 10_000


def trade_list() -> QuerySet:
    return Trade.objects.select_related("account", "counterparty", "instrument").order_by("-id")


def trade_get(trade_id: int):
    return trade_list().filter(pk=trade_id).first()


def trade_blotter(*, trade_date: date | None = None, date_from: date | None = None, date_to: date | None = None,
                  account: Account | None = None, instruments: Sequence[Instrument] | None = None,
                  counterparty: Counterparty | None = None, status: str | None = None, side: str | None = None,
                  external_ref: str | None = None) -> QuerySet[Trade]:
    """Return the trades matching every given filter, newest (highest id) first.

    Each filter is one indexed column of records_trade, so the database can walk an index
    (trade_date_idx, trade_instrument_idx, trade_counterparty_idx, or the primary key) in id order
    and stop after a page; status is read as trades_in_status says.

    external_ref matches exactly, or as a prefix when it ends with "*": both walk
    trade_unique_ref_per_submitter, whose ref column has pattern ops for the prefix's LIKE.
    """
    trades = Trade.objects.select_related("account", "counterparty", "instrument").order_by("-id")
    if trade_date:
        trades = trades.filter(trade_date=trade_date)
    if date_from:
        trades = trades.filter(trade_date__gte=date_from)
    if date_to:
        trades = trades.filter(trade_date__lte=date_to)
    if account is not None:
        trades = trades.filter(account=account)
    if instruments is not None:
        trades = (trades.filter(instrument=instruments[0]) if len(instruments) == 1
                  else trades.filter(instrument__in=instruments))
    if counterparty is not None:
        trades = trades.filter(counterparty=counterparty)
    if status:
        trades = trades_in_status(trades, status)
    if side:
        trades = trades.filter(side=side)
    if external_ref:
        prefix = external_ref.removesuffix("*")
        trades = (trades.filter(external_ref__startswith=prefix) if prefix != external_ref
                  else trades.filter(external_ref=external_ref))
    return trades


def trades_in_status(trades: QuerySet[Trade], status: str) -> QuerySet[Trade]:
    """Narrow trades to those in status.

    No index of the blotter names status (netting and settlement change it on every trade: HOT updates, see
    Trade.Meta). A common status is a filter on a walk in id order that soon finds a page; a rare one
    (Trade.RARE_STATUSES) is looked up first among the lifecycle events that moved trades into it (a
    partial index), so a page or a count reads those trades, never the whole blotter.
    """
    trades = trades.filter(status=status)
    if status in Trade.RARE_STATUSES:
        trades = trades.filter(pk__in=TradeEvent.objects.filter(to_status=status).values("trade_id"))
    return trades


def trade_search(trades: QuerySet[Trade], term: str) -> QuerySet[Trade]:
    """Narrow trades to those whose external ref, account code or ISIN is term (for the admin's search box).

    Codes and ISINs are resolved first, so the database ORs three indexed lookups instead of
    scanning the blotter; external_ref matches exactly, or as a prefix when term ends with "*".
    """
    term = term.strip()
    prefix = term.removesuffix("*")
    match = Q(external_ref__startswith=prefix) if prefix != term else Q(external_ref=term)
    account_ids = list(Account.objects.filter(code__iexact=prefix).values_list("id", flat=True))
    instrument_ids = list(Instrument.objects.filter(isin__iexact=prefix).values_list("id", flat=True))
    if account_ids:
        match |= Q(account_id__in=account_ids)
    if instrument_ids:
        match |= Q(instrument_id__in=instrument_ids)
    return trades.filter(match)


@dataclass(frozen=True)
class GrossByCurrency:
    """Trades and gross notional (quantity times price, unrounded) of one currency."""

    currency: str
    trades: int
    buy_gross: Decimal
    sell_gross: Decimal

    @property
    def gross(self) -> Decimal:
        return self.buy_gross + self.sell_gross


@dataclass(frozen=True)
class BlotterTotals:
    """How many trades match, up to the cap; and, when not capped, their gross notional per currency."""

    count: int
    capped: bool
    by_currency: list[GrossByCurrency]


def trade_blotter_totals(trades: QuerySet[Trade], *, page: KeysetPage | None = None,
                         cap: int | None = None) -> BlotterTotals:
    """Count the trades up to cap + 1; below the cap, sum their gross per currency and side.

    The count reads at most cap + 1 rows. Sums are made in Python over at most `cap` rows, in
    Decimal. When
    `page` (of these trades) is the only page, it is the whole set: no query at all.
    """
    cap = BLOTTER_COUNT_CAP if cap is None else cap
    if page is not None and page.newer_after is None and page.older_before is None:
        rows = [(t.currency, t.side, t.quantity, t.price) for t in page.rows]
    else:
        unordered = trades.order_by()
        count = unordered[:cap + 1].count()
        if count > cap:
            return BlotterTotals(count=cap, capped=True, by_currency=[])
        rows = unordered.values_list("currency", "side", "quantity", "price")
    zero = Decimal(0)
    sums: dict[str, list] = {}
    count = 0
    for currency, side, quantity, price in rows:
        count += 1
        entry = sums.setdefault(currency, [0, zero, zero])
        entry[0] += 1
        entry[1 if side == Trade.Side.BUY else 2] += quantity * price
    return BlotterTotals(count=count, capped=False, by_currency=[
        GrossByCurrency(currency, n, buy, sell) for currency, (n, buy, sell) in sorted(sums.items())])


# The columns of a trade in its two CSV files, in order: (header, values_list path), declared once.
# Both files hold these terms of the trade, split where the blotter's download adds gross_amount.
_TERMS_TO_PRICE = (
    ("id", "id"), ("external_ref", "external_ref"), ("trade_date", "trade_date"),
    ("settlement_date", "settlement_date"), ("account", "account__code"), ("counterparty", "counterparty__code"),
    ("isin", "instrument__isin"), ("symbol", "instrument__symbol"), ("side", "side"), ("quantity", "quantity"),
    ("price", "price"),
)
_TERMS_AFTER_PRICE = (
    ("currency", "currency"), ("commission", "commission"), ("status", "status"),
    ("match_status", "match_status"), ("version", "version"), ("settled_quantity", "settled_quantity"),
)

# The blotter's download (the dashboard's "Export CSV", trade_export_rows): the terms, the gross
# amount after the price, and when the trade was booked.
TRADE_EXPORT_COLUMNS = (
    *_TERMS_TO_PRICE, ("gross_amount", "gross_amount"), *_TERMS_AFTER_PRICE, ("created_at", "created_at"),
)

# The books-and-records file (records.exports, kind "trades"): the terms, who submitted the trade
# and when it was booked and last changed; no gross amount, which is derived, not a record. It
# differs from the download because its bytes are signed in the daily manifest and a missing file
# is regenerated from the books to the signed hash: its columns stay as they were signed (its test
# pins the header), so a column added to the terms for the download must not land here unnoticed.
TRADE_RECORD_COLUMNS = (
    *_TERMS_TO_PRICE, *_TERMS_AFTER_PRICE, ("submitted_by", "submitted_by__username"),
    ("created_at", "created_at"), ("updated_at", "updated_at"),
)

# Quantity times price, computed by the database: exact whatever the digits (numeric), unrounded.
_GROSS_AMOUNT = ExpressionWrapper(F("quantity") * F("price"), output_field=DecimalField())


def trade_export_rows(trades: QuerySet[Trade], *, chunk_size: int = 2000) -> Iterator[tuple]:
    """Yield the trades as tuples in TRADE_EXPORT_COLUMNS order, in the queryset's order, chunk by chunk.

    No model instances and a server-side cursor on PostgreSQL: memory stays flat for a million rows.
    """
    return (trades.annotate(gross_amount=_GROSS_AMOUNT)
            .values_list(*(path for _header, path in TRADE_EXPORT_COLUMNS)).iterator(chunk_size=chunk_size))


def trade_detail_get(trade_id: int) -> Trade | None:
    """Return the trade with everything its detail page shows, or None."""
    return (Trade.objects.select_related("account", "counterparty__clears_through", "instrument__market",
                                         "submitted_by")
            .filter(pk=trade_id).first())


def trade_timeline(trade: Trade) -> QuerySet[TradeEvent]:
    """Return the trade's lifecycle events, oldest first."""
    return TradeEvent.objects.filter(trade=trade).order_by("at", "id")


@dataclass(frozen=True)
class TradeVersionRow:
    """One version of a trade: its values, which changed from the version before (and from what), and
    the step that made it (the booking for version 1, an amendment after)."""

    version: int
    current: bool
    quantity: Decimal
    price: Decimal
    settlement_date: date
    commission: Decimal
    status: str
    changed: frozenset[str]
    was: dict  # field -> its value in the version before, for the changed fields
    made_by: str  # "Submitted" or "Amended"
    made_at: datetime
    actor: str
    reason: str

    @property
    def gross_amount(self) -> Decimal:
        return self.quantity * self.price


def trade_version_rows(trade: Trade) -> list[TradeVersionRow]:
    """Return every version of the trade, the current one last, each marked with what changed.

    A superseded version's status is the one it had when amended; the current row shows today's.
    Status is shown but not compared: it also moves without an amendment (release, cancel, settle).
    """
    superseded = list(TradeVersion.objects.filter(trade=trade).select_related("superseded_by").order_by("version"))
    rows, previous, amendment = [], None, None
    for source in [*superseded, trade]:
        # What an amendment may change, compared version to version.
        values = {name: getattr(source, name) for name in Trade.AMENDABLE_FIELDS}
        was = {name: previous[name] for name in Trade.AMENDABLE_FIELDS if previous and values[name] != previous[name]}
        if amendment is None:
            made = ("Submitted", trade.created_at, trade.submitted_by.get_username(), "")
        else:
            made = ("Amended", amendment.superseded_at,
                    amendment.superseded_by.get_username() if amendment.superseded_by else "", amendment.reason)
        rows.append(TradeVersionRow(
            version=source.version, current=source is trade, status=source.status, changed=frozenset(was), was=was,
            made_by=made[0], made_at=made[1], actor=made[2], reason=made[3], **values))
        previous, amendment = values, source
    return rows
