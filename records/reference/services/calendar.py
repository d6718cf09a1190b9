"""Settlement calendars: business days of the settlement system, not of the exchange.

A trade settles on the trade date plus the settlement cycle, counted in business days of the
settlement system its market settles in (docs/glossary.md). The exchange and the settlement system
differ on real days, both ways:

* United States (DTC, whose cash leg moves over Fedwire): DTC closes on every NYSE holiday and
  also on the Federal Reserve holidays when NYSE trades (Columbus Day, Veterans Day), so a trade
  on the Friday before Columbus Day settles on the Tuesday. DTC stays open when NYSE closes for a
  one-off event with the Fed open (national days of mourning, e.g. 2018-12-05 and 2025-01-09).
  Sources: Federal Reserve holiday schedule (federalreserve.gov/aboutthefed/k8.htm),
  DTCC "DTC holiday schedule" notices, SIFMA holiday recommendations.
* Euro area (T2S, on TARGET): settles on every weekday except the TARGET closing days - New
  Year's Day, Good Friday, Easter Monday, 1 May, 25 and 26 December - so it is open on
  24 and 31 December when Xetra is shut. Source: ECB, "TARGET closing days"; T2S calendar.
* United Kingdom (CREST): closed on English bank holidays, the same days as the LSE's full
  closures (LSE's 24/31 December half days are settlement days). Source: Euroclear UK & Ireland,
  CREST operating calendar.
* Any other market: the exchange calendar itself, until someone adds its settlement system.

Settlement cycles change over time; the rule in force on the trade date applies (see
``standard_settlement_cycle``).
"""

import datetime as dt
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd
from pandas.tseries.holiday import Easter, Holiday

from records.reference.exchanges import exchange_calendar, market_date_at, market_timezone
from records.reference.models import Instrument, Market, SettlementCalendar

CALENDAR_START = "1970-01-01"
CALENDAR_END = "2075-12-31"

# US: T+3 until 2017-09-01, T+2 from 2017-09-05 (SEC Rule 15c6-1 amendment, 2017),
# T+1 from 2024-05-28 (SEC Release 34-96930, 2023).
US_T2_FROM = dt.date(2017, 9, 5)
US_T1_FROM = dt.date(2024, 5, 28)
# EU and UK: T+2 from 2014-10-06 (CSDR art. 5; the UK moved the same day), T+1 from 2027-10-11
# (EU Regulation amending CSDR art. 5, 2025; UK Accelerated Settlement Taskforce, 2025).
EU_UK_T2_FROM = dt.date(2014, 10, 6)
EU_UK_T1_FROM = dt.date(2027, 10, 11)

_Asset = Instrument.AssetClass


def _regular_holidays(mic: str) -> pd.DatetimeIndex:
    rules = exchange_calendar(mic).regular_holidays
    if rules is None:
        return pd.DatetimeIndex([])
    return rules.holidays(CALENDAR_START, CALENDAR_END)


def _adhoc_holidays(mic: str) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(exchange_calendar(mic).adhoc_holidays)


def _us_fed_only_holidays() -> list[dt.date]:
    """Columbus Day and Veterans Day: the Fed (and so DTC) is shut while NYSE trades."""
    days = []
    for year in range(1971, int(CALENDAR_END[:4]) + 1):
        october_first = dt.date(year, 10, 1)
        first_monday = october_first + dt.timedelta(days=(7 - october_first.weekday()) % 7)
        days.append(first_monday + dt.timedelta(days=7))  # Columbus Day: second Monday of October
        veterans = dt.date(year, 11, 11)
        # The Fed observes a Sunday holiday on the Monday and does not observe a Saturday one.
        if veterans.weekday() == 6:
            days.append(veterans + dt.timedelta(days=1))
        elif veterans.weekday() < 5:
            days.append(veterans)
    return days


def _target_closing_days() -> list[dt.date]:
    rules = [
        Holiday("New Year", month=1, day=1),
        Holiday("Good Friday", month=1, day=1, offset=[Easter(), pd.DateOffset(days=-2)]),
        Holiday("Easter Monday", month=1, day=1, offset=[Easter(), pd.DateOffset(days=1)]),
        Holiday("Labour Day", month=5, day=1),
        Holiday("Christmas", month=12, day=25),
        Holiday("Boxing Day", month=12, day=26),
    ]
    start, end = pd.Timestamp(CALENDAR_START), pd.Timestamp(CALENDAR_END)
    return [d.date() for rule in rules for d in rule.dates(start, end)]


@cache
def _holidays(settlement_calendar: str, mic: str) -> tuple[dt.date, ...]:
    if settlement_calendar == SettlementCalendar.DTC:
        days = [d.date() for d in _regular_holidays("XNYS")] + _us_fed_only_holidays()
    elif settlement_calendar == SettlementCalendar.T2S:
        days = _target_closing_days()
    elif settlement_calendar == SettlementCalendar.CREST:
        days = [d.date() for d in _regular_holidays("XLON").union(_adhoc_holidays("XLON"))]
    else:
        days = [d.date() for d in _regular_holidays(mic).union(_adhoc_holidays(mic))]
    return tuple(sorted(set(days)))


@cache
def _busday_calendar(settlement_calendar: str, mic: str) -> np.busdaycalendar:
    holidays = np.array(_holidays(settlement_calendar, mic), dtype="datetime64[D]")
    return np.busdaycalendar(weekmask="1111100", holidays=holidays)


def _calendar_key(market: Market) -> tuple[str, str]:
    # The market's MIC matters only when the market settles on its own exchange calendar.
    if market.settlement_calendar == SettlementCalendar.EXCHANGE:
        return market.settlement_calendar, market.mic
    return market.settlement_calendar, ""


def is_settlement_day(*, market: Market, day: dt.date) -> bool:
    """Return True if the market's settlement system settles on `day`."""
    return bool(np.is_busday(np.datetime64(day, "D"), busdaycal=_busday_calendar(*_calendar_key(market))))


@cache
def _session_calendar(mic: str) -> np.busdaycalendar:
    """The exchange's own trading days (not its settlement system's): its weekmask less its full closures."""
    holidays = _regular_holidays(mic).union(_adhoc_holidays(mic))
    return np.busdaycalendar(weekmask=exchange_calendar(mic).weekmask,
                             holidays=np.array([d.date() for d in holidays], dtype="datetime64[D]"))


def is_trading_session(*, market: Market, day: dt.date) -> bool:
    """Return True if the market's exchange trades on `day` (a trade can be dated only on one)."""
    return bool(np.is_busday(np.datetime64(day, "D"), busdaycal=_session_calendar(market.mic)))


def add_settlement_days(*, market: Market, start: dt.date, days: int) -> dt.date:
    """Return the `days`-th settlement day after `start` (`start` itself need not be one)."""
    cal = _busday_calendar(*_calendar_key(market))
    when = np.datetime64(start, "D")
    if days == 0:
        result = np.busday_offset(when, 0, roll="forward", busdaycal=cal)
    else:
        # Roll back first: counting starts from the last settlement day on or before `start`,
        # so a Saturday trade settles T+1 on Monday, not Tuesday.
        result = np.busday_offset(when, days, roll="backward", busdaycal=cal)
    return result.astype(dt.date)


def standard_settlement_cycle(*, market: Market, asset_class: str, trade_date: dt.date) -> int:
    """Return the regular-way cycle in force on trade_date for this market and asset class."""
    cal = market.settlement_calendar
    if cal == SettlementCalendar.DTC:
        if asset_class == _Asset.GOVT_BOND:
            return 1  # US Treasuries settle T+1 regular way.
        if trade_date >= US_T1_FROM:
            return 1
        return 2 if trade_date >= US_T2_FROM else 3
    if cal in (SettlementCalendar.T2S, SettlementCalendar.CREST):
        if trade_date >= EU_UK_T1_FROM:
            return 1
        if cal == SettlementCalendar.CREST and asset_class == _Asset.GOVT_BOND:
            return 1  # Gilts settle T+1 regular way.
        return 2 if trade_date >= EU_UK_T2_FROM else 3
    return 2


@dataclass(frozen=True)
class SettlementDate:
    instrument: Instrument
    trade_date: dt.date
    settlement_date: dt.date
    settlement_cycle: int
    calendar: str


def settlement_cycle_for(*, instrument: Instrument, trade_date: dt.date) -> int:
    """Return the instrument's own cycle if set, else the standard one on trade_date."""
    if instrument.settlement_cycle is not None:
        return instrument.settlement_cycle
    return standard_settlement_cycle(market=instrument.market, asset_class=instrument.asset_class,
                                     trade_date=trade_date)


def settlement_date_for(*, instrument: Instrument, trade_date: dt.date) -> SettlementDate:
    """Return the date a regular-way trade in `instrument` on `trade_date` settles."""
    cycle = settlement_cycle_for(instrument=instrument, trade_date=trade_date)
    market = instrument.market
    return SettlementDate(
        instrument=instrument,
        trade_date=trade_date,
        settlement_date=add_settlement_days(market=market, start=trade_date, days=cycle),
        settlement_cycle=cycle,
        calendar=market.settlement_calendar if market.settlement_calendar != SettlementCalendar.EXCHANGE
        else market.mic,
    )


def market_today(*, market: Market) -> dt.date:
    """Return today's date where the market is (a Tokyo trade date runs ahead of UTC)."""
    from django.utils import timezone

    return market_date_at(mic=market.mic, at=timezone.now())


def calendars_warm() -> int:
    """Build the settlement calendar (and time zone) of every market now; return how many.

    Building one from exchange-calendars' rules takes a good fraction of a second, so a web
    process does it when it starts instead of in the first trade request of each market.
    """
    markets = list(Market.objects.all())
    for market in markets:
        is_settlement_day(market=market, day=dt.date.today())
        is_trading_session(market=market, day=dt.date.today())
        market_timezone(market.mic)
    return len(markets)
