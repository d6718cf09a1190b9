"""Reads of the books and records. Other apps read records' data through these."""

from datetime import date

from django.db.models import F, QuerySet

from .models import Account, CashBalance, Counterparty, Instrument, Market, Price


def instrument_list() -> QuerySet[Instrument]:
    return Instrument.objects.select_related("market").order_by("isin")


def instrument_get(isin: str) -> Instrument | None:
    return instrument_list().filter(isin=isin).first()


def instruments_by_isin(isins) -> dict[str, Instrument]:
    return {i.isin: i for i in instrument_list().filter(isin__in=set(isins))}


def account_list() -> QuerySet[Account]:
    return Account.objects.order_by("code")


def account_get(code: str) -> Account | None:
    return Account.objects.filter(code=code).first()


def accounts_by_code(codes) -> dict[str, Account]:
    return {a.code: a for a in Account.objects.filter(code__in=set(codes))}


def counterparty_list() -> QuerySet[Counterparty]:
    return Counterparty.objects.select_related("clears_through").order_by("code")


def counterparty_get(code: str) -> Counterparty | None:
    return counterparty_list().filter(code=code).first()


def market_list() -> QuerySet[Market]:
    return Market.objects.order_by("mic")


def price_list() -> QuerySet[Price]:
    return Price.objects.select_related("instrument").order_by("instrument__isin", "-price_date", "source")


def price_latest(*, instrument: Instrument, as_of: date) -> Price | None:
    """Return the latest price on or before as_of (newest update wins between sources)."""
    return (Price.objects.filter(instrument=instrument, price_date__lte=as_of)
            .select_related("instrument").order_by("-price_date", "-updated_at", "-id").first())


def cash_balance_list() -> QuerySet[CashBalance]:
    return (CashBalance.objects.select_related("account")
            .annotate(available_amount=F("balance") - F("reserved"))
            .order_by("account__code", "currency"))


# --- dashboard reads ---
# Reads for the dashboard pages (records/views.py, backoffice/dashboard). Filters are keyword
# arguments already parsed by the view; None means "do not filter".

from dataclasses import dataclass  # noqa: E402
from datetime import datetime, time  # noqa: E402
from decimal import Decimal  # noqa: E402

from django.db.models import Count, Max, OuterRef, Q, Subquery, Sum  # noqa: E402
from django.utils import timezone  # noqa: E402

from .models import AuditRecord, Position  # noqa: E402


@dataclass(frozen=True)
class CurrencyTotal:
    currency: str
    balance: Decimal
    reserved: Decimal
    available: Decimal
    accounts: int


@dataclass(frozen=True)
class RecordsSummary:
    """Today's key figures of the books and records, for the home page."""

    instruments: int
    active_instruments: int
    accounts: int
    active_accounts: int
    counterparties: int
    ccps: int
    latest_price_date: date | None
    instruments_priced: int
    open_positions: int
    cash_totals: list[CurrencyTotal]
    audit_records_today: int
    trades_today: int = 0  # booked, held or cancelled with today's trade date
    trades_today_cancelled: int = 0
    trades_held: int = 0  # held by pre-trade checks, any date: awaiting release
    approvals_pending: int = 0


def _latest_price_subquery(*, as_of: date, instrument_ref: str, field: str) -> Subquery:
    # Same order as price_latest: the newest date, then the newest update between sources.
    latest = (Price.objects.filter(instrument=OuterRef(instrument_ref), price_date__lte=as_of)
              .order_by("-price_date", "-updated_at", "-id").values(field)[:1])
    return Subquery(latest)


def _with_latest_price(queryset: QuerySet, *, as_of: date, instrument_ref: str) -> QuerySet:
    return queryset.annotate(
        latest_price=_latest_price_subquery(as_of=as_of, instrument_ref=instrument_ref, field="price"),
        latest_price_date=_latest_price_subquery(as_of=as_of, instrument_ref=instrument_ref, field="price_date"),
    )


def instrument_search(*, as_of: date, asset_class: str | None = None, market: str | None = None,
                      search: str | None = None) -> QuerySet[Instrument]:
    """Return instruments by ISIN, each with its latest price on or before as_of (None if never priced).

    search matches part of the ISIN, symbol or name, case-insensitively.
    """
    instruments = instrument_list()
    if asset_class:
        instruments = instruments.filter(asset_class=asset_class)
    if market:
        instruments = instruments.filter(market_id=market)
    if search:
        instruments = instruments.filter(
            Q(isin__icontains=search) | Q(symbol__icontains=search) | Q(name__icontains=search))
    return _with_latest_price(instruments, as_of=as_of, instrument_ref="pk")


def account_search(*, status: str | None = None, kind: str | None = None,
                   search: str | None = None) -> QuerySet[Account]:
    """Return accounts by code; search matches part of the code or name."""
    accounts = account_list()
    if status:
        accounts = accounts.filter(status=status)
    if kind:
        accounts = accounts.filter(kind=kind)
    if search:
        accounts = accounts.filter(Q(code__icontains=search) | Q(name__icontains=search))
    return accounts


def counterparty_search(*, is_ccp: bool | None = None, search: str | None = None) -> QuerySet[Counterparty]:
    """Return counterparties by code, with how many members clear through each CCP."""
    counterparties = counterparty_list().annotate(member_count=Count("clearing_members"))
    if is_ccp is not None:
        counterparties = counterparties.filter(is_ccp=is_ccp)
    if search:
        counterparties = counterparties.filter(
            Q(code__icontains=search) | Q(name__icontains=search) | Q(lei__icontains=search))
    return counterparties


def _instrument_key(prefix: str, key: str) -> Q:
    """Match an instrument by ISIN or by symbol, case-insensitively."""
    return Q(**{f"{prefix}isin__iexact": key}) | Q(**{f"{prefix}symbol__iexact": key})


def price_search(*, instrument: str | None = None, date_from: date | None = None,
                 date_to: date | None = None) -> QuerySet[Price]:
    """Return prices, newest date first; instrument is an ISIN or a symbol."""
    prices = Price.objects.select_related("instrument").order_by("-price_date", "instrument__isin", "source")
    if instrument:
        prices = prices.filter(_instrument_key("instrument__", instrument))
    if date_from:
        prices = prices.filter(price_date__gte=date_from)
    if date_to:
        prices = prices.filter(price_date__lte=date_to)
    return prices


def cash_balance_search(*, account: str | None = None, currency: str | None = None) -> QuerySet[CashBalance]:
    """Return cash balances per account and currency; account is an account code."""
    balances = cash_balance_list()
    if account:
        balances = balances.filter(account__code__iexact=account)
    if currency:
        balances = balances.filter(currency__iexact=currency)
    return balances


def cash_totals_by_currency(balances: QuerySet[CashBalance]) -> list[CurrencyTotal]:
    """Sum a set of balances per currency (amounts in different currencies are never added)."""
    rows = (balances.order_by().values("currency")
            .annotate(total_balance=Sum("balance"), total_reserved=Sum("reserved"), accounts=Count("account"))
            .order_by("currency"))
    zero = Decimal("0")
    return [
        CurrencyTotal(currency=row["currency"], balance=row["total_balance"] or zero,
                      reserved=row["total_reserved"] or zero,
                      available=(row["total_balance"] or zero) - (row["total_reserved"] or zero),
                      accounts=row["accounts"])
        for row in rows
    ]


def position_search(*, as_of: date, account: str | None = None, instrument: str | None = None,
                    include_flat: bool = False) -> QuerySet[Position]:
    """Return the stock record by account and ISIN, with each instrument's latest price on or before as_of.

    Flat positions (nothing traded or settled) are left out unless include_flat.
    """
    positions = (Position.objects.select_related("account", "instrument")
                 .annotate(unsettled_quantity=F("traded_quantity") - F("settled_quantity"))
                 .order_by("account__code", "instrument__isin"))
    if not include_flat:
        positions = positions.exclude(traded_quantity=0, settled_quantity=0)
    if account:
        positions = positions.filter(account__code__iexact=account)
    if instrument:
        positions = positions.filter(_instrument_key("instrument__", instrument))
    return _with_latest_price(positions, as_of=as_of, instrument_ref="instrument_id")


def price_latest_date(*, as_of: date) -> date | None:
    """Return the newest price date on or before as_of (the last pricing run), None if nothing is priced."""
    return Price.objects.filter(price_date__lte=as_of).aggregate(latest=Max("price_date"))["latest"]


def records_summary(*, today: date) -> RecordsSummary:
    """Return the key figures of the books and records as of today (in the current time zone)."""
    instruments = Instrument.objects.aggregate(total=Count("id"), active=Count("id", filter=Q(is_active=True)))
    accounts = Account.objects.aggregate(
        total=Count("id"), active=Count("id", filter=Q(status=Account.Status.ACTIVE)))
    counterparties = Counterparty.objects.aggregate(total=Count("id"), ccps=Count("id", filter=Q(is_ccp=True)))
    latest_price_date = price_latest_date(as_of=today)
    instruments_priced = (
        Price.objects.filter(price_date=latest_price_date).values("instrument").distinct().count()
        if latest_price_date else 0)
    start_of_day = timezone.make_aware(datetime.combine(today, time.min))
    return RecordsSummary(
        instruments=instruments["total"],
        active_instruments=instruments["active"],
        accounts=accounts["total"],
        active_accounts=accounts["active"],
        counterparties=counterparties["total"],
        ccps=counterparties["ccps"],
        latest_price_date=latest_price_date,
        instruments_priced=instruments_priced,
        open_positions=Position.objects.exclude(traded_quantity=0, settled_quantity=0).count(),
        cash_totals=cash_totals_by_currency(CashBalance.objects.all()),
        audit_records_today=AuditRecord.objects.filter(at__gte=start_of_day).count(),
        **_trade_figures(today=today),
    )


def _trade_figures(*, today: date) -> dict:
    from .models import ChangeRequest, Trade

    today_counts = Trade.objects.filter(trade_date=today).aggregate(
        total=Count("id"), cancelled=Count("id", filter=Q(status=Trade.Status.CANCELLED)))
    return {
        "trades_today": today_counts["total"],
        "trades_today_cancelled": today_counts["cancelled"],
        "trades_held": Trade.objects.filter(status=Trade.Status.HELD).count(),
        "approvals_pending": ChangeRequest.objects.filter(status=ChangeRequest.Status.PENDING).count(),
    }


# --- trades and inventory ---

def trade_list() -> QuerySet:
    from .models import Trade

    return Trade.objects.select_related("account", "counterparty", "instrument").order_by("-id")


def trade_get(trade_id: int):
    return trade_list().filter(pk=trade_id).first()


def trade_history(trade) -> QuerySet:
    return trade.events.order_by("at", "id")


def _tail(model, as_of_field: str, as_of: date, value, **filters):
    """Sum of `value` over rows of `model` for the outer position dated after as_of."""
    from django.db.models import DecimalField, OuterRef, Subquery, Sum, Value
    from django.db.models.functions import Coalesce

    rows = (model.objects.filter(account_id=OuterRef("account_id"), instrument_id=OuterRef("instrument_id"),
                                 **{f"{as_of_field}__gt": as_of}, **filters)
            .order_by().values("account_id").annotate(total=Sum(value)).values("total")[:1])
    return Coalesce(Subquery(rows), Value(0), output_field=DecimalField(max_digits=24, decimal_places=6))


def inventory_list(*, as_of: date, account_code: str | None = None, isin: str | None = None) -> QuerySet:
    """Positions as of a date, valued at the latest price on or before it.

    The stock record holds today's figures; a past as_of subtracts only what happened after it
    (trades booked with a later trade date, movements with a later value date), so the query
    never sums the whole blotter.
    """
    from django.db.models import DecimalField, ExpressionWrapper, OuterRef, Q, Subquery
    from django.utils import timezone

    from .models import Position, Price, StockMovement, Trade

    qs = Position.objects.select_related("account", "instrument")
    if account_code:
        qs = qs.filter(account__code=account_code)
    if isin:
        qs = qs.filter(instrument__isin=isin)
    latest = Price.objects.filter(instrument_id=OuterRef("instrument_id"), price_date__lte=as_of).order_by(
        "-price_date", "-updated_at", "-id")
    qs = qs.annotate(price=Subquery(latest.values("price")[:1]), price_date=Subquery(latest.values("price_date")[:1]))
    quantity = DecimalField(max_digits=24, decimal_places=6)
    if as_of >= timezone.localdate():
        qs = qs.annotate(
            traded_as_of=F("traded_quantity"), settled_as_of=F("settled_quantity"),
            receipt_as_of=F("pending_receipt"), delivery_as_of=F("pending_delivery"))
    else:
        booked = {"status__in": Trade.POSITION_STATUSES}
        later_buys = _tail(Trade, "trade_date", as_of, "quantity", side="BUY", **booked)
        later_sells = _tail(Trade, "trade_date", as_of, "quantity", side="SELL", **booked)
        later_moves = _tail(StockMovement, "value_date", as_of, "quantity")
        qs = qs.annotate(
            traded_as_of=ExpressionWrapper(F("traded_quantity") - later_buys + later_sells - later_moves,
                                           output_field=quantity),
            settled_as_of=ExpressionWrapper(F("settled_quantity") - later_moves, output_field=quantity),
            receipt_as_of=ExpressionWrapper(F("pending_receipt") - later_buys, output_field=quantity),
            delivery_as_of=ExpressionWrapper(F("pending_delivery") - later_sells, output_field=quantity),
        )
    nonzero = ~Q(traded_as_of=0) | ~Q(settled_as_of=0) | ~Q(receipt_as_of=0) | ~Q(delivery_as_of=0)
    return qs.filter(nonzero).order_by("account__code", "instrument__isin")


# --- blotter reads ---
# Reads for the trade blotter, its CSV export, the trade detail and inventory pages. The blotter
# pages by keyset on id (newest first), never by OFFSET, and never counts more than
# BLOTTER_COUNT_CAP rows: a page of a million-trade blotter costs what a page of a hundred does.
# Filters are already parsed: accounts, counterparties and instruments are resolved rows.

from collections.abc import Iterator, Sequence  # noqa: E402
from decimal import ROUND_HALF_EVEN  # noqa: E402

from .models import Trade, TradeEvent, TradeVersion  # noqa: E402
from .validators import currency_exponent  # noqa: E402

BLOTTER_PAGE_SIZE = 50
# The blotter counts (and totals) at most this many trades; beyond it, it says "10,000+".
BLOTTER_COUNT_CAP = 10_000


def account_find(code: str) -> Account | None:
    """Return the account with this code, matched exactly or else case-insensitively."""
    return Account.objects.filter(code=code).first() or Account.objects.filter(code__iexact=code).first()


def counterparty_find(code: str) -> Counterparty | None:
    """Return the counterparty with this code, matched exactly or else case-insensitively."""
    return (Counterparty.objects.filter(code=code).first()
            or Counterparty.objects.filter(code__iexact=code).first())


def instruments_find(key: str) -> list[Instrument]:
    """Return the instruments whose ISIN or symbol is key (case-insensitive); a symbol may be listed twice."""
    return list(Instrument.objects.filter(_instrument_key("", key)).order_by("isin"))


def trade_blotter(*, trade_date: date | None = None, date_from: date | None = None, date_to: date | None = None,
                  account: Account | None = None, instruments: Sequence[Instrument] | None = None,
                  counterparty: Counterparty | None = None, status: str | None = None, side: str | None = None,
                  external_ref: str | None = None) -> QuerySet[Trade]:
    """Return the trades matching every given filter, newest (highest id) first.

    Each filter is one indexed column of records_trade, so the database can walk an index
    (trade_date_idx, trade_status_idx, trade_instrument_idx, trade_counterparty_idx, or the
    primary key) in id order and stop after a page.

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
        trades = trades.filter(status=status)
    if side:
        trades = trades.filter(side=side)
    if external_ref:
        prefix = external_ref.removesuffix("*")
        trades = (trades.filter(external_ref__startswith=prefix) if prefix != external_ref
                  else trades.filter(external_ref=external_ref))
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
class KeysetPage:
    """One page of a keyset-paged list, newest first, and the cursors of its neighbours.

    newer_after: pass as after= for the page of newer rows (None: this is the newest page).
    older_before: pass as before= for the page of older rows (None: this is the oldest page).
    """

    rows: list
    newer_after: int | None
    older_before: int | None

    @property
    def first_id(self) -> int | None:
        return self.rows[0].pk if self.rows else None

    @property
    def last_id(self) -> int | None:
        return self.rows[-1].pk if self.rows else None

    def __iter__(self):
        return iter(self.rows)

    def __len__(self):
        return len(self.rows)


def keyset_page(queryset: QuerySet, *, before: int | None = None, after: int | None = None,
                size: int = BLOTTER_PAGE_SIZE) -> KeysetPage:
    """Return the page (newest first by id) just older than `before`, just newer than `after`, or the newest.

    Any queryset ordered by -id: the trade blotter, the audit trail.

    Two queries at most, each reading size + 1 rows from an index, whatever the table's size.
    A cursor past either end gives the newest page.
    """
    if after is not None:
        chunk = list(queryset.filter(id__gt=after).order_by("id")[:size + 1])
        if chunk:
            rows = chunk[:size][::-1]
            more_newer = len(chunk) > size
            more_older = queryset.filter(id__lt=rows[-1].pk).exists()
            return KeysetPage(rows, rows[0].pk if more_newer else None, rows[-1].pk if more_older else None)
    elif before is not None:
        chunk = list(queryset.filter(id__lt=before)[:size + 1])
        if chunk:
            rows = chunk[:size]
            more_older = len(chunk) > size
            more_newer = queryset.filter(id__gt=rows[0].pk).exists()
            return KeysetPage(rows, rows[0].pk if more_newer else None, rows[-1].pk if more_older else None)
    chunk = list(queryset[:size + 1])
    rows = chunk[:size]
    return KeysetPage(rows, None, rows[-1].pk if len(chunk) > size else None)


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


# The columns of the CSV export, in order: (header, values_list path).
TRADE_EXPORT_COLUMNS = (
    ("id", "id"), ("external_ref", "external_ref"), ("trade_date", "trade_date"),
    ("settlement_date", "settlement_date"), ("account", "account__code"), ("counterparty", "counterparty__code"),
    ("isin", "instrument__isin"), ("symbol", "instrument__symbol"), ("side", "side"), ("quantity", "quantity"),
    ("price", "price"), ("currency", "currency"), ("commission", "commission"), ("status", "status"),
    ("match_status", "match_status"), ("version", "version"), ("settled_quantity", "settled_quantity"),
    ("created_at", "created_at"),
)


def trade_export_rows(trades: QuerySet[Trade], *, chunk_size: int = 2000) -> Iterator[tuple]:
    """Yield the trades as tuples in TRADE_EXPORT_COLUMNS order, newest first, chunk by chunk.

    No model instances and a server-side cursor on PostgreSQL: memory stays flat for a million rows.
    """
    return trades.values_list(*(path for _header, path in TRADE_EXPORT_COLUMNS)).iterator(chunk_size=chunk_size)


def trade_detail_get(trade_id: int) -> Trade | None:
    """Return the trade with everything its detail page shows, or None."""
    return (Trade.objects.select_related("account", "counterparty__clears_through", "instrument__market",
                                         "submitted_by")
            .filter(pk=trade_id).first())


def trade_timeline(trade: Trade) -> QuerySet[TradeEvent]:
    """Return the trade's lifecycle events, oldest first."""
    return TradeEvent.objects.filter(trade=trade).order_by("at", "id")


# What an amendment may change (records.services.trades.AMENDABLE_FIELDS): compared version to version.
VERSIONED_FIELDS = ("quantity", "price", "settlement_date", "commission")


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
        values = {name: getattr(source, name) for name in VERSIONED_FIELDS}
        was = {name: previous[name] for name in VERSIONED_FIELDS if previous and values[name] != previous[name]}
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


def inventory_available(position) -> Decimal:
    """Settled holding not already promised to a pending delivery, never below zero (API: available_quantity)."""
    return max(position.settled_as_of - position.delivery_as_of, Decimal(0))


def inventory_market_value(position) -> Decimal | None:
    """Trade-date quantity at the price, rounded half-even to the currency's minor unit; None without a price."""
    return _market_value(position.traded_as_of, position.price, position.instrument.currency)


def _market_value(quantity: Decimal, price: Decimal | None, currency: str) -> Decimal | None:
    if price is None:
        return None
    return (quantity * price).quantize(Decimal(1).scaleb(-currency_exponent(currency)), rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True)
class InventoryTotal:
    """Market value of the priced positions of one currency; unpriced ones are counted, not valued."""

    currency: str
    market_value: Decimal
    positions: int
    unpriced: int


def inventory_totals(positions) -> list[InventoryTotal]:
    """Sum the market values of inventory_list rows per currency, as rounded on each row.

    positions: an inventory_list queryset (summed in one query), or its rows already fetched.
    """
    if isinstance(positions, QuerySet):
        figures = positions.order_by().values_list("instrument__currency", "traded_as_of", "price")
    else:
        figures = ((p.instrument.currency, p.traded_as_of, p.price) for p in positions)
    sums: dict[str, list] = {}
    for currency, traded, price in figures:
        entry = sums.setdefault(currency, [Decimal(0), 0, 0])
        entry[1] += 1
        value = _market_value(traded, price, currency)
        if value is None:
            entry[2] += 1
        else:
            entry[0] += value
    return [InventoryTotal(currency, value, n, unpriced) for currency, (value, n, unpriced) in sorted(sums.items())]


# --- audit trail ---

def audit_list() -> QuerySet:
    from .models import AuditRecord

    return AuditRecord.objects.select_related("seal").order_by("-id")
