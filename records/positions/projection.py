"""Reads of the settlement projection: what the stock record still expects to receive and deliver, by settlement date.

From records' own trades (booked, cleared, failed or partly settled, not fully settled yet): the
pending receipts and deliveries of the positions (Position.pending_receipt / pending_delivery) split
by the date they are due to settle, with the cash each side pays or receives. One aggregate query.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Count, DecimalField, ExpressionWrapper, F, Q, Sum

from records.trades.models import Trade

# Trades that still have something to settle: booked (netted or not), failed, or settled in part.
PENDING_STATUSES = ("BOOKED", "CLEARED", "FAILED", "PARTIALLY_SETTLED")
PROJECTION_ROWS = 200

_QUANTITY = DecimalField(max_digits=24, decimal_places=6)
_VALUE = DecimalField(max_digits=48, decimal_places=14)


@dataclass(frozen=True)
class PendingSettlement:
    """What one instrument still has to settle on one date (over the accounts asked for), in its trades' currency."""

    settlement_date: date
    isin: str
    symbol: str
    name: str
    currency: str
    receive: Decimal  # securities still to be received (unsettled part of the buys)
    deliver: Decimal  # securities still to be delivered (unsettled part of the sells)
    cash_in: Decimal  # what the sells still bring in: unsettled quantity x price, exact
    cash_out: Decimal  # what the buys still cost, exact, as a positive amount
    trades: int
    accounts: int

    @property
    def net(self) -> Decimal:
        return self.receive - self.deliver

    @property
    def net_cash(self) -> Decimal:
        return self.cash_in - self.cash_out


def pending_settlements(*, account_code: str | None = None, isin: str | None = None,
                        limit: int = PROJECTION_ROWS) -> list[PendingSettlement]:
    """Return the unsettled part of the trades per settlement date, instrument and currency, oldest date first.

    A trade's unsettled part is its quantity less its settled quantity; its cash is that quantity at the
    trade's price (before commission). At most `limit` rows (the earliest dates).
    """
    trades = Trade.objects.filter(status__in=PENDING_STATUSES, settled_quantity__lt=F("quantity"))
    if account_code:
        trades = trades.filter(account__code=account_code)
    if isin:
        trades = trades.filter(instrument__isin=isin)
    unsettled = ExpressionWrapper(F("quantity") - F("settled_quantity"), output_field=_QUANTITY)
    value = ExpressionWrapper((F("quantity") - F("settled_quantity")) * F("price"), output_field=_VALUE)
    buy, sell = Q(side=Trade.Side.BUY), Q(side=Trade.Side.SELL)
    rows = (trades.values("settlement_date", "instrument__isin", "instrument__symbol", "instrument__name", "currency")
            .annotate(receive=Sum(unsettled, filter=buy, default=0), deliver=Sum(unsettled, filter=sell, default=0),
                      cash_out=Sum(value, filter=buy, default=0), cash_in=Sum(value, filter=sell, default=0),
                      trades=Count("id"), accounts=Count("account_id", distinct=True))
            .order_by("settlement_date", "instrument__symbol", "instrument__isin", "currency"))[:limit]
    return [PendingSettlement(settlement_date=row["settlement_date"], isin=row["instrument__isin"],
                              symbol=row["instrument__symbol"], name=row["instrument__name"], currency=row["currency"],
                              receive=row["receive"], deliver=row["deliver"], cash_in=row["cash_in"],
                              cash_out=row["cash_out"], trades=row["trades"], accounts=row["accounts"])
            for row in rows]
