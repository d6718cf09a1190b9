"""Reads of the settlement projection: what the stock record still expects to receive and deliver, by settlement date.

From records' own trades (booked, cleared, failed or partly settled, not fully settled yet): the
pending receipts and deliveries of the positions (Position.pending_receipt / pending_delivery) split
by the date they are due to settle, with the cash each side pays or receives. Read from the sums
PostgreSQL keeps per settlement date, instrument, currency and account as the trades change
(PendingSettlementTotal, records migration 0019), not from the trades: no index of the blotter may name
status (netting and settlement are HOT updates), so filtering the trades by status would read them all.
Two queries over the open keys: the last date the page shows, then the aggregate up to it.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Count, Sum

from records.positions.models import PendingSettlementTotal

# Trades that still have something to settle: booked (netted or not), failed, or settled in part. The triggers of
# records migration 0019 name the same statuses.
PENDING_STATUSES = ("BOOKED", "CLEARED", "FAILED", "PARTIALLY_SETTLED")
PROJECTION_ROWS = 200


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

    @classmethod
    def of_row(cls, row: dict) -> "PendingSettlement":
        """From a row of the projection's aggregate (values by settlement date, instrument and currency)."""
        return cls(settlement_date=row["settlement_date"], isin=row["instrument__isin"],
                   symbol=row["instrument__symbol"], name=row["instrument__name"], currency=row["currency"],
                   receive=row["receive"], deliver=row["deliver"], cash_in=row["cash_in"], cash_out=row["cash_out"],
                   trades=row["trades"], accounts=row["accounts"])

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
    trade's price (before commission). At most `limit` rows (the earliest dates). The sums come from
    PendingSettlementTotal, one row per account with open trades in each (date, instrument, currency), so
    the rows of a group count its accounts. Two queries: the last date shown, then the groups up to it.
    """
    totals = PendingSettlementTotal.objects.all()
    if account_code:
        totals = totals.filter(account__code=account_code)
    if isin:
        totals = totals.filter(instrument__isin=isin)
    # The rows shown are on the earliest dates: the date of the limit-th (date, instrument, currency) in the key's
    # order bounds them (fewer than `limit` groups are on earlier dates; its date is read whole, as the page orders
    # a date's groups by symbol). Found by walking the key's index from its start, so a day's bookings open on later
    # dates are not aggregated for nothing.
    last_date = (totals.order_by("settlement_date", "instrument_id", "currency")
                 .values_list("settlement_date", "instrument_id", "currency").distinct()[limit - 1:limit])
    if last_date:
        totals = totals.filter(settlement_date__lte=last_date[0][0])
    rows = (totals.values("settlement_date", "instrument__isin", "instrument__symbol", "instrument__name", "currency")
            .annotate(receive=Sum("receive"), deliver=Sum("deliver"), cash_out=Sum("cash_out"),
                      cash_in=Sum("cash_in"), trades=Sum("trades"), accounts=Count("account_id"))
            .order_by("settlement_date", "instrument__symbol", "instrument__isin", "currency"))[:limit]
    return [PendingSettlement.of_row(row) for row in rows]
