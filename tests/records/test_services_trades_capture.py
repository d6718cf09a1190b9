"""Trade capture's calendar and amount rules: a trade dated when its exchange is closed is refused, one booked
after its trade date is as-of, and amounts go on the wire exactly, with their currency's minor units."""

import datetime as dt
from decimal import Decimal
from unittest import mock

import pytest

from backoffice.core.bulk import COPY_THRESHOLD
from records.reference.models import Instrument, Market
from records.reference.services.calendar import is_trading_session
from records.reference.validators import format_amount
from records.trades import services as svc
from records.trades.models import Trade, TradeEvent
from tests.conftest import APPLE, MICROSOFT, SAP, make_user
from tests.records.helpers_trades import trade_input

pytestmark = pytest.mark.django_db

FRIDAY = dt.date(2026, 11, 20)
SATURDAY = dt.date(2026, 11, 21)
THANKSGIVING = dt.date(2026, 11, 26)  # NYSE and Nasdaq closed; Xetra open


@pytest.mark.parametrize(("mic", "day", "trades"), [
    ("XNYS", FRIDAY, True), ("XNYS", SATURDAY, False), ("XNAS", THANKSGIVING, False),
    ("XETR", THANKSGIVING, True), ("XETR", dt.date(2026, 12, 24), False), ("XLON", dt.date(2026, 12, 24), True),
    ("XNYS", dt.date(2025, 1, 9), False),  # national day of mourning: an ad-hoc closure
])
def test_a_trading_session_is_a_day_the_exchange_itself_trades(mic, day, trades):
    assert is_trading_session(market=Market(mic=mic), day=day) is trades


@pytest.mark.parametrize("day", [SATURDAY, THANKSGIVING])
def test_a_trade_dated_when_its_exchange_is_closed_is_refused_on_trade_date_and_books_nothing(
        instruments, accounts, counterparties, day):
    user = make_user("oms", "front_office")
    result = svc.trade_submit(submitted_by=user, item=trade_input(trade_date=day))
    assert (result.status, result.errors) == (
        svc.REJECTED, {"trade_date": [f"{day} is not a trading session of XNAS."]})
    assert (Trade.objects.count(), TradeEvent.objects.count()) == (0, 0)


def test_the_session_rule_is_set_based_and_holds_on_the_copy_path(instruments, accounts, counterparties):
    """A batch large enough for COPY asks the calendar once per distinct (market, trade date), and books
    every trade dated on a session while refusing the others."""
    user = make_user("oms", "front_office")
    plan = [(APPLE, FRIDAY, None), (MICROSOFT, FRIDAY, None), (APPLE, SATURDAY, None),
            (APPLE, THANKSGIVING, None), (SAP, THANKSGIVING, "EUR")]
    items = [(n, trade_input(f"S-{n}", instrument=isin, trade_date=day, currency=currency))
             for n, (isin, day, currency) in ((n, plan[n % len(plan)]) for n in range(COPY_THRESHOLD + 5))]
    with mock.patch.object(svc, "is_trading_session", wraps=is_trading_session) as asked:
        results = svc.trade_submit_batch(submitted_by=user, items=items)
    assert sorted((call.kwargs["market"].mic, call.kwargs["day"]) for call in asked.call_args_list) == [
        ("XETR", THANKSGIVING), ("XNAS", FRIDAY), ("XNAS", SATURDAY), ("XNAS", THANKSGIVING)]
    refused = {n for n, r in results.items() if r.status == svc.REJECTED}
    assert refused == {n for n in range(len(items)) if plan[n % len(plan)][1:] in [(SATURDAY, None),
                                                                                   (THANKSGIVING, None)]}
    assert Trade.objects.count() == len(items) - len(refused)


def _booked_at(created_at: dt.datetime, trade_date: dt.date = FRIDAY) -> Trade:
    trade = Trade(trade_date=trade_date, created_at=created_at)
    trade.instrument = Instrument(market_id="XNAS")
    return trade


@pytest.mark.parametrize(("created_at", "as_of"), [
    (dt.datetime(2026, 11, 20, 15, 0, tzinfo=dt.UTC), False),  # 10:00 in New York, the trade date
    (dt.datetime(2026, 11, 21, 3, 0, tzinfo=dt.UTC), False),   # 22:00 in New York, still the trade date
    (dt.datetime(2026, 11, 21, 5, 0, tzinfo=dt.UTC), True),    # past midnight in New York
    (dt.datetime(2026, 11, 23, 14, 0, tzinfo=dt.UTC), True),
])
def test_a_trade_is_as_of_when_booked_after_its_trade_date_at_its_market(created_at, as_of):
    assert _booked_at(created_at).is_as_of is as_of


def test_a_trade_booked_today_is_not_as_of_and_one_dated_earlier_is(instruments, accounts, counterparties):
    user = make_user("oms", "front_office")
    trade = svc.trade_submit(submitted_by=user, item=trade_input(trade_date=FRIDAY)).trade
    assert trade.is_as_of is True
    Trade.objects.filter(pk=trade.pk).update(created_at=dt.datetime(2026, 11, 20, 18, 0, tzinfo=dt.UTC))
    assert Trade.objects.select_related("instrument").get(pk=trade.pk).is_as_of is False


def test_the_gross_amount_is_quantity_times_price_exactly():
    """34 significant digits (123456789012123456 * 9876543212345678 / 10**14): the default context (28) would
    round them."""
    trade = Trade(quantity=Decimal("123456789012.123456"), price=Decimal("98765432.12345678"))
    assert trade.gross_amount == Decimal("12193263115356804009.74913484023168")


@pytest.mark.parametrize(("value", "currency", "text"), [
    ("1.5", "USD", "1.50"), ("5", "USD", "5.00"), ("0", "USD", "0.00"), ("1.505", "USD", "1.505"),
    ("18925.0000", "USD", "18925.00"), ("150", "JPY", "150"), ("150.5", "JPY", "150.5"), ("1.5", "BHD", "1.500"),
    ("1E+3", "EUR", "1000.00"),
])
def test_an_amount_keeps_its_currencys_minor_units_and_is_never_rounded(value, currency, text):
    assert format_amount(Decimal(value), currency) == text
