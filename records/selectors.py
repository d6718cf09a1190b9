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
    )


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
