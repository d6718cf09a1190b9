"""The key figures of the books and records, for the home page (backoffice.dashboard)."""

from dataclasses import dataclass
from datetime import date, datetime, time

from django.db.models import Count, Q
from django.utils import timezone

from records.approvals.models import ChangeRequest
from records.audit.models import AuditRecord
from records.cash.models import CashBalance
from records.cash.selectors import CurrencyTotal, cash_totals_by_currency
from records.positions.models import Position
from records.reference.models import Account, Counterparty, Instrument, Price
from records.reference.selectors import price_latest_date
from records.trades.models import Trade
from records.trades.selectors import trades_in_status


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
    today_counts = Trade.objects.filter(trade_date=today).aggregate(
        total=Count("id"), cancelled=Count("id", filter=Q(status=Trade.Status.CANCELLED)))
    return {
        "trades_today": today_counts["total"],
        "trades_today_cancelled": today_counts["cancelled"],
        "trades_held": trades_in_status(Trade.objects.all(), Trade.Status.HELD).count(),
        "approvals_pending": ChangeRequest.objects.filter(status=ChangeRequest.Status.PENDING).count(),
    }
