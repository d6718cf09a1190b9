"""Settlement dates count business days of the settlement system, not of the exchange."""

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from records.reference.models import Instrument, Market
from records.reference.services.calendar import (
    add_settlement_days,
    is_settlement_day,
    settlement_date_for,
    standard_settlement_cycle,
)

D = dt.date
pytestmark = pytest.mark.django_db


def market(mic):
    return Market.objects.get(mic=mic)


def instrument(mic, asset_class="EQUITY", cycle=None):
    return Instrument(isin="US0378331005", symbol="X", name="X", asset_class=asset_class, currency="USD",
                      market=market(mic), settlement_cycle=cycle)


@pytest.mark.parametrize(
    ("trade_date", "expected"),
    [
        (D(2026, 11, 19), D(2026, 11, 20)),  # Thursday -> Friday
        (D(2026, 11, 20), D(2026, 11, 23)),  # Friday -> Monday, over the weekend
        (D(2026, 11, 25), D(2026, 11, 27)),  # day before Thanksgiving -> Friday after
        (D(2026, 11, 21), D(2026, 11, 23)),  # a Saturday trade date settles on the Monday
        (D(2026, 12, 24), D(2026, 12, 28)),  # Christmas Day, then the weekend
        (D(2026, 4, 2), D(2026, 4, 6)),  # Good Friday: NYSE and DTC both closed
    ],
)
def test_us_equity_settles_t_plus_1_over_weekends_and_holidays(trade_date, expected):
    assert settlement_date_for(instrument=instrument("XNYS"), trade_date=trade_date).settlement_date == expected


def test_us_change_from_t2_to_t1_on_2024_05_28():
    # Friday 2024-05-24 was still T+2; Monday 2024-05-27 Memorial Day; Tuesday 2024-05-28 first T+1 day.
    before = settlement_date_for(instrument=instrument("XNYS"), trade_date=D(2024, 5, 24))
    first = settlement_date_for(instrument=instrument("XNYS"), trade_date=D(2024, 5, 28))
    assert (before.settlement_cycle, before.settlement_date) == (2, D(2024, 5, 29))
    assert (first.settlement_cycle, first.settlement_date) == (1, D(2024, 5, 29))


def test_us_was_t3_before_september_2017():
    result = settlement_date_for(instrument=instrument("XNYS"), trade_date=D(2017, 9, 1))
    assert (result.settlement_cycle, result.settlement_date) == (3, D(2017, 9, 7))  # Labor Day 09-04
    assert standard_settlement_cycle(market=market("XNYS"), asset_class="EQUITY", trade_date=D(2017, 9, 5)) == 2


def test_us_columbus_day_is_a_trading_day_but_not_a_settlement_day():
    us = market("XNYS")
    columbus = D(2026, 10, 12)
    assert not is_settlement_day(market=us, day=columbus)
    # A trade on the Friday before does not settle on Columbus Day but on the Tuesday.
    assert settlement_date_for(instrument=instrument("XNYS"), trade_date=D(2026, 10, 9)).settlement_date == D(
        2026, 10, 13)
    # Counting exchange sessions instead would have given the Monday.
    import exchange_calendars

    xnys = exchange_calendars.get_calendar("XNYS")
    assert xnys.is_session("2026-10-12")


def test_us_veterans_day_is_not_a_settlement_day_and_follows_fed_observance():
    us = market("XNYS")
    assert not is_settlement_day(market=us, day=D(2026, 11, 11))  # Wednesday
    assert not is_settlement_day(market=us, day=D(2029, 11, 12))  # Sunday 11th observed on Monday
    assert is_settlement_day(market=us, day=D(2028, 11, 10))  # Saturday 11th: the Fed is open on Friday


def test_us_days_of_mourning_close_the_exchange_but_dtc_settles():
    us = market("XNYS")
    # 2025-01-09 (President Carter) and 2018-12-05 (President G. H. W. Bush): NYSE closed, Fed and DTC open.
    assert is_settlement_day(market=us, day=D(2025, 1, 9))
    assert is_settlement_day(market=us, day=D(2018, 12, 5))
    assert settlement_date_for(instrument=instrument("XNYS"), trade_date=D(2025, 1, 8)).settlement_date == D(
        2025, 1, 9)


def test_us_treasuries_settle_t_plus_1_even_before_2024():
    treasury = instrument("XNYS", asset_class="GOVT_BOND")
    assert settlement_date_for(instrument=treasury, trade_date=D(2020, 3, 5)).settlement_date == D(2020, 3, 6)


def test_xetra_christmas_eve_is_closed_for_trading_but_t2s_settles():
    de = market("XETR")
    assert is_settlement_day(market=de, day=D(2026, 12, 24))
    assert is_settlement_day(market=de, day=D(2026, 12, 31))
    assert not is_settlement_day(market=de, day=D(2026, 12, 25))
    assert not is_settlement_day(market=de, day=D(2026, 12, 26))
    # T+2 from Wednesday 23 December: Thursday 24th counts, then 25th/26th and the weekend do not.
    sap = instrument("XETR")
    assert settlement_date_for(instrument=sap, trade_date=D(2026, 12, 23)).settlement_date == D(2026, 12, 28)


def test_t2s_closing_days_include_easter_and_may_day():
    de = market("XETR")
    for day in (D(2026, 1, 1), D(2026, 4, 3), D(2026, 4, 6), D(2026, 5, 1)):
        assert not is_settlement_day(market=de, day=day), day
    # German Unity Day and Whit Monday are not TARGET closing days.
    assert is_settlement_day(market=de, day=D(2026, 10, 5))
    assert is_settlement_day(market=de, day=D(2026, 5, 25))


def test_uk_bank_holidays_close_crest():
    gb = market("XLON")
    assert not is_settlement_day(market=gb, day=D(2026, 5, 4))  # Early May bank holiday
    assert not is_settlement_day(market=gb, day=D(2026, 8, 31))  # Summer bank holiday
    assert is_settlement_day(market=gb, day=D(2026, 10, 12))  # Columbus Day means nothing in London
    vod = instrument("XLON")
    assert settlement_date_for(instrument=vod, trade_date=D(2026, 4, 30)).settlement_date == D(2026, 5, 5)


def test_eu_and_uk_move_to_t1_on_2027_10_11():
    for mic in ("XETR", "XLON"):
        assert standard_settlement_cycle(market=market(mic), asset_class="EQUITY", trade_date=D(2027, 10, 8)) == 2
        assert standard_settlement_cycle(market=market(mic), asset_class="EQUITY", trade_date=D(2027, 10, 11)) == 1
    assert standard_settlement_cycle(market=market("XETR"), asset_class="EQUITY", trade_date=D(2014, 10, 3)) == 3


def test_instrument_cycle_override_wins():
    result = settlement_date_for(instrument=instrument("XNYS", cycle=3), trade_date=D(2026, 11, 16))
    assert (result.settlement_cycle, result.settlement_date) == (3, D(2026, 11, 19))


def test_t_plus_0_on_a_holiday_rolls_forward():
    assert add_settlement_days(market=market("XNYS"), start=D(2026, 11, 26), days=0) == D(2026, 11, 27)


@settings(max_examples=200, deadline=None)
@given(trade_date=st.dates(min_value=D(1995, 1, 1), max_value=D(2060, 12, 31)),
       mic=st.sampled_from(["XNYS", "XNAS", "XLON", "XETR", "XPAR", "XTKS"]),
       asset_class=st.sampled_from([c for c, _ in Instrument.AssetClass.choices]))
def test_settlement_date_is_a_business_day_exactly_cycle_business_days_after_trade_date(trade_date, mic, asset_class):
    m = Market.objects.get(mic=mic)
    inst = Instrument(isin="US0378331005", symbol="X", name="X", asset_class=asset_class, currency="USD", market=m)
    result = settlement_date_for(instrument=inst, trade_date=trade_date)
    assert result.settlement_date > trade_date
    assert is_settlement_day(market=m, day=result.settlement_date)
    between = [trade_date + dt.timedelta(days=n) for n in range(1, (result.settlement_date - trade_date).days + 1)]
    assert sum(is_settlement_day(market=m, day=d) for d in between) == result.settlement_cycle


@pytest.mark.django_db
def test_calendars_warm_builds_every_market_calendar_once():
    from records.reference.models import Market
    from records.reference.services import calendar

    assert calendar.calendars_warm() == Market.objects.count() > 0
    built = calendar._busday_calendar.cache_info().currsize
    assert built >= 1
    calendar.calendars_warm()
    assert calendar._busday_calendar.cache_info().currsize == built  # nothing built twice
