"""Reads of the stock record: positions and inventory, in one place.

Positions are the stock record as it stands (the positions page); inventory is the stock record
as of a date, with its traded, settled and available quantities and its market value at the
latest price on or before that date (the inventory page and API, the stock-record export).
"""

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

from django.db.models import DecimalField, ExpressionWrapper, F, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from records.positions.models import Position, StockMovement
from records.reference.models import Price
from records.reference.selectors import instrument_key, with_latest_price
from records.reference.validators import currency_exponent
from records.trades.models import Trade


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
        positions = positions.filter(instrument_key("instrument__", instrument))
    return with_latest_price(positions, as_of=as_of, instrument_ref="instrument_id")


def _tail(model, as_of_field: str, as_of: date, value, **filters):
    """Sum of `value` over rows of `model` for the outer position dated after as_of."""
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


def inventory_available(position) -> Decimal:
    """Settled holding not already promised to a pending delivery, never below zero (API: available_quantity)."""
    return max(position.settled_as_of - position.delivery_as_of, Decimal(0))


def inventory_market_value(position) -> Decimal | None:
    """Trade-date quantity at the price, rounded half-even to the currency's minor unit; None without a price."""
    return inventory_value(position.traded_as_of, position.price, position.instrument.currency)


def inventory_value(quantity: Decimal, price: Decimal | None, currency: str) -> Decimal | None:
    """The valuation rule of inventory (page, API, stock-record export, totals): quantity at the price,
    rounded half-even to the currency's minor unit; None without a price."""
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
        value = inventory_value(traded, price, currency)
        if value is None:
            entry[2] += 1
        else:
            entry[0] += value
    return [InventoryTotal(currency, value, n, unpriced) for currency, (value, n, unpriced) in sorted(sums.items())]
