"""load_demo: a believable firm, loaded through the services, idempotent, fast."""

import datetime as dt
import json
import time
from decimal import Decimal
from io import StringIO

import exchange_calendars
import pandas as pd
import pytest
from django.core.management import CommandError, call_command
from django.db.models import Max, Sum
from django.utils import timezone
from stdnum import isin as stdnum_isin
from stdnum import lei as stdnum_lei

from records import demo
from records.audit.models import AuditRecord
from records.cash.models import CashBalance, CashMovement
from records.positions.models import Position, StockMovement
from records.reference.models import Account, Counterparty, FxRate, Instrument, Price
from records.reference.services.calendar import is_trading_session, market_today
from records.trades.models import Trade

pytestmark = pytest.mark.django_db

MODELS = (Instrument, Account, Counterparty, Price, FxRate, CashMovement, CashBalance, Position, StockMovement,
          AuditRecord)


def load(*args) -> str:
    out = StringIO()
    call_command("load_demo", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def loaded():
    return load()


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


def last_session_before(mic: str, day: dt.date) -> dt.date:
    calendar = exchange_calendars.get_calendar(mic, start=pd.Timestamp(day - dt.timedelta(days=90)),
                                               end=pd.Timestamp(day))
    return max(s.date() for s in calendar.sessions if s.date() < day)


# The data itself ---------------------------------------------------------------------------------

def test_the_generator_data_has_valid_identifiers_and_consistent_currencies():
    assert len(demo.INSTRUMENTS) == len(demo.INSTRUMENTS_BY_ISIN) == 50
    for spec in demo.INSTRUMENTS:
        assert stdnum_isin.is_valid(spec.isin), spec.isin
    for spec in demo.COUNTERPARTIES:
        assert stdnum_lei.is_valid(spec.lei), spec.lei
    assert len({c.lei for c in demo.COUNTERPARTIES}) == 10
    assert len(demo.ACCOUNTS_BY_CODE) == 20


def test_load_demo_creates_fifty_instruments_with_valid_isins_across_four_markets(loaded):
    instruments = list(Instrument.objects.all())
    assert len(instruments) == 50
    assert all(stdnum_isin.is_valid(i.isin) for i in instruments)
    assert {i.market_id for i in instruments} == {"XNYS", "XNAS", "XLON", "XETR"}
    expected_currency = {"XNYS": "USD", "XNAS": "USD", "XLON": "GBP", "XETR": "EUR"}
    assert all(i.currency == expected_currency[i.market_id] for i in instruments)
    by_class = {(i.market_id, i.asset_class) for i in instruments}
    assert {("XNYS", "GOVT_BOND"), ("XNYS", "CORP_BOND"), ("XLON", "GOVT_BOND"), ("XETR", "GOVT_BOND"),
            ("XNAS", "ETF"), ("XNYS", "EQUITY"), ("XNAS", "EQUITY"), ("XLON", "EQUITY"), ("XETR", "EQUITY")} <= by_class
    assert Instrument.objects.filter(market_id__in=["XNYS", "XNAS"], asset_class="GOVT_BOND").count() == 3
    assert Instrument.objects.filter(asset_class="CORP_BOND").count() == 2


def test_load_demo_creates_twenty_accounts_of_every_kind_and_state(loaded):
    accounts = list(Account.objects.all())
    assert len(accounts) == 20
    assert {a.code for a in accounts} >= {"HOUSE-EQ", "HOUSE-FI", "HOUSE-ERR"}
    assert {a.kind for a in accounts} == {"HOUSE", "CLIENT"}
    assert {a.base_currency for a in accounts} == {"USD", "GBP", "EUR"}
    assert {a.cost_method for a in accounts} == {"FIFO", "AVERAGE"}
    assert Account.objects.filter(status="SUSPENDED").count() == 1
    assert Account.objects.filter(status="CLOSED").count() == 1
    assert Account.objects.filter(credit_limit__gt=0).count() >= 3


def test_load_demo_creates_ten_counterparties_with_one_ccp_and_its_clearing_members(loaded):
    counterparties = list(Counterparty.objects.all())
    assert len(counterparties) == 10
    assert all(stdnum_lei.is_valid(c.lei) for c in counterparties)
    ccp = Counterparty.objects.get(is_ccp=True)
    assert (ccp.code, ccp.requires_matching, ccp.clears_through) == ("NSCC", False, None)
    assert ccp.clearing_members.count() >= 3
    assert Counterparty.objects.filter(is_ccp=False, clears_through__isnull=True).count() >= 3


def test_load_demo_prices_thirty_sessions_per_instrument_up_to_the_last_one_before_today(loaded):
    today = timezone.localdate()
    assert Instrument.objects.count() == 50
    for instrument in Instrument.objects.all():
        prices = list(Price.objects.filter(instrument=instrument))
        dates = {p.price_date for p in prices}
        assert len(prices) == len(dates) == 30, instrument.isin
        assert max(dates) == last_session_before(instrument.market_id, today)
        assert all(d.weekday() < 5 for d in dates)
        assert all(p.currency == instrument.currency and p.price > 0 for p in prices)
        assert all(-p.price.normalize().as_tuple().exponent <= 4 for p in prices)
        if instrument.asset_class in ("GOVT_BOND", "CORP_BOND"):
            assert all(Decimal(95) <= p.price <= Decimal(105) for p in prices), instrument.isin


def test_load_demo_stores_consistent_fx_rates_on_the_price_days(loaded):
    price_days = set(Price.objects.values_list("price_date", flat=True))
    pairs = set(FxRate.objects.values_list("base_currency", "quote_currency"))
    assert pairs == {("EUR", "USD"), ("GBP", "USD"), ("EUR", "GBP")}
    for base, quote in pairs:
        assert set(FxRate.objects.filter(base_currency=base, quote_currency=quote)
                   .values_list("rate_date", flat=True)) == price_days
    day = max(price_days)
    rate = {(f.base_currency, f.quote_currency): f.rate for f in FxRate.objects.filter(rate_date=day)}
    assert abs(rate["EUR", "USD"] / rate["GBP", "USD"] - rate["EUR", "GBP"]) < Decimal("0.00001")


def test_cash_balances_equal_the_sum_of_their_movements(loaded):
    balances = list(CashBalance.objects.all())
    assert len(balances) == 30
    for balance in balances:
        total = CashMovement.objects.filter(account=balance.account, currency=balance.currency).aggregate(
            total=Sum("amount"))["total"]
        assert balance.balance == total
    funded = set(CashMovement.objects.filter(amount__gt=0).values_list("account__code", flat=True))
    assert funded == {a.code for a in Account.objects.all()}
    assert set(CashBalance.objects.filter(account__code="CL-HF-005").values_list("balance", flat=True)) == {0}
    hartwell = {b.currency: b.balance for b in CashBalance.objects.filter(account__code="CL-FO-001")}
    assert hartwell == {"USD": Decimal("15000000"), "GBP": Decimal("4000000")}


def test_positions_equal_the_sum_of_their_stock_movements(loaded):
    positions = list(Position.objects.all())
    assert len(positions) > 100
    for position in positions:
        total = StockMovement.objects.filter(account=position.account, instrument=position.instrument).aggregate(
            total=Sum("quantity"))["total"]
        assert position.settled_quantity == position.traded_quantity == total > 0
    holders = set(Position.objects.values_list("account__code", flat=True))
    assert len(holders) >= 15
    assert not holders & {"HOUSE-ERR", "CL-HF-005"}
    assert StockMovement.objects.exclude(kind="OPENING").count() == 0


def test_every_demo_record_has_an_audit_record_from_the_job(loaded):
    def audited(record_type):
        return set(AuditRecord.objects.filter(record_type=record_type, action="CREATE", actor_label="job:load_demo")
                   .values_list("record_id", flat=True))

    for model in (Instrument, Account, Counterparty, Price, FxRate, CashMovement, StockMovement):
        ids = {str(pk) for pk in model.objects.values_list("pk", flat=True)}
        assert ids, model.__name__
        assert audited(model._meta.label_lower) == ids, model.__name__
    assert AuditRecord.objects.filter(correlation_id__startswith="job:load_demo:").count() == \
        AuditRecord.objects.count()


def test_a_second_run_creates_nothing_and_changes_no_balance(loaded):
    before = counts()
    balances = {(b.account_id, b.currency): b.balance for b in CashBalance.objects.all()}
    positions = {(p.account_id, p.instrument_id): p.settled_quantity for p in Position.objects.all()}
    prices = dict(Price.objects.values_list("pk", "price"))

    output = load()
    load("--seed", "99")  # another seed changes no stored price either

    assert counts() == before
    assert {(b.account_id, b.currency): b.balance for b in CashBalance.objects.all()} == balances
    assert {(p.account_id, p.instrument_id): p.settled_quantity for p in Position.objects.all()} == positions
    assert dict(Price.objects.values_list("pk", "price")) == prices
    assert "instruments           0 created     50 already there" in output
    assert "prices                0 created   1500 already there" in output


def test_load_demo_reports_what_it_created(loaded):
    assert "instruments          50 created      0 already there" in loaded
    assert "accounts             20 created      0 already there" in loaded
    assert "counterparties       10 created      0 already there" in loaded
    assert "Demo data ready" in loaded


def test_load_demo_is_fast():
    started = time.monotonic()
    load()
    assert time.monotonic() - started < 10


def test_load_demo_is_all_or_nothing(monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(demo.positions, "stock_movement_create", broken)
    with pytest.raises(RuntimeError):
        load()
    assert set(counts().values()) == {0}


# Demo trades -------------------------------------------------------------------------------------

def test_trades_are_booked_through_trade_capture_and_rerunning_books_nothing_twice():
    output = load("--trades", "300", "--seed", "3")
    assert "300 created, 0 already there, 0 rejected" in output
    assert Trade.objects.count() == 300
    assert set(Trade.objects.values_list("status", flat=True)) <= {"BOOKED", "HELD"}
    assert set(Trade.objects.values_list("submitted_by__username", flat=True)) == {demo.DEMO_OMS_USER}
    again = load("--trades", "300", "--seed", "3")
    assert "0 created, 300 already there, 0 rejected" in again
    assert Trade.objects.count() == 300


def test_positions_after_demo_trades_equal_openings_plus_trades():
    from tests.records.helpers_trades import assert_positions_equal_sum_of_trades

    load("--trades", "500", "--seed", "4")
    assert_positions_equal_sum_of_trades()


def test_negative_trade_count_is_refused():
    with pytest.raises(CommandError, match="zero or more"):
        load("--trades", "-1")


def test_demo_trades_are_deterministic_for_a_seed(loaded):
    first = demo.demo_trades(200, 11)
    assert demo.demo_trades(200, 11) == first
    assert demo.demo_trades(200, 12) != first
    assert len({t["external_ref"] for t in first}) == 200
    json.dumps(first)  # API input: plain JSON, decimals as strings


def test_demo_trades_refer_to_demo_data_at_realistic_prices(loaded):
    trades = demo.demo_trades(500, 5)
    accounts = {a.code: a for a in Account.objects.all()}
    counterparties = {c.code: c for c in Counterparty.objects.all()}
    instruments = {i.isin: i for i in Instrument.objects.all()}
    closes = {(p.instrument.isin, p.price_date): p.price for p in Price.objects.select_related("instrument")}
    held = {(p.account.code, p.instrument.isin): p.settled_quantity
            for p in Position.objects.select_related("account", "instrument")}
    assert {t["side"] for t in trades} == {"BUY", "SELL"}
    for trade in trades:
        assert set(trade) == {"external_ref", "account", "counterparty", "instrument", "side", "quantity", "price",
                              "currency", "trade_date", "settlement_date", "commission"}
        account = accounts[trade["account"]]
        assert account.status == "ACTIVE" and account.code != "HOUSE-ERR"
        assert not counterparties[trade["counterparty"]].is_ccp
        instrument = instruments[trade["instrument"]]
        assert trade["currency"] == instrument.currency
        trade_date = dt.date.fromisoformat(trade["trade_date"])
        if (instrument.isin, trade_date) not in closes:
            # Dated today at its market (no close yet): near the last close.
            assert trade_date == market_today(market=instrument.market)
            trade_date = max(day for isin, day in closes if isin == instrument.isin)
        close = closes[instrument.isin, trade_date]
        price, quantity = Decimal(trade["price"]), Decimal(trade["quantity"])
        assert abs(price / close - 1) <= Decimal("0.005")
        assert quantity > 0 and quantity == quantity.to_integral_value()
        assert Decimal(trade["commission"]) >= 0
        if trade["side"] == "SELL":
            assert quantity <= held[trade["account"], trade["instrument"]]
        if instrument.market_id in ("XLON", "XETR"):
            assert counterparties[trade["counterparty"]].clears_through is None


def test_about_one_demo_trade_in_five_is_dated_today_where_its_market_trades_today(loaded):
    trades = demo.demo_trades(500, 5)
    markets = {i.isin: i.market for i in Instrument.objects.select_related("market")}
    today = {isin: market_today(market=market) for isin, market in markets.items()}
    last_close = dict(Price.objects.values_list("instrument__isin").annotate(day=Max("price_date")))
    open_today = {isin for isin, market in markets.items()
                  if is_trading_session(market=market, day=today[isin]) and today[isin] > last_close[isin]}
    # A trade dated after its instrument's last close is dated today, where its market trades today. (A trade
    # may also be dated on the last close when that is today's date there: between UTC's midnight and New
    # York's, the close of the day loaded as yesterday's is today's in New York.)
    after_close = [t for t in trades if t["trade_date"] > last_close[t["instrument"]].isoformat()]
    assert all(t["instrument"] in open_today and t["trade_date"] == today[t["instrument"]].isoformat()
               for t in after_close)
    eligible = [t for t in trades if t["instrument"] in open_today]
    assert (len(after_close) == 0) == (len(eligible) == 0)
    assert len(after_close) <= 0.3 * len(eligible) + 5


def test_demo_trades_need_the_demo_firm():
    with pytest.raises(demo.DemoDataMissing):
        demo.demo_trades(1, 1)
    assert demo.demo_trades(0, 1) == []
