"""The rules of a fail, as pure functions of dates, calendars and codes: age, Reg SHO close-out, penalty type.

No database access: the callers (services, selectors, pages) pass the market (its settlement calendar)
and the dates. Settlement days are those of the market's settlement system
(records.reference.services.calendar), not of its exchange.

Reg SHO Rule 204 (17 CFR 242.204(a)): a participant of a registered clearing agency with a fail to
deliver in an equity security must close it out by borrowing or purchasing securities of like kind
and quantity:

* short sale: by the beginning of regular trading hours on the settlement day following the
  settlement date (204(a));
* long sale, or bona fide market making: by the beginning of regular trading hours on the third
  consecutive settlement day following the settlement date (204(a)(1), (a)(3));
* a sale of securities the seller may sell under Rule 144 (17 CFR 230.144): by the beginning of
  regular trading hours on the thirty-fifth consecutive calendar day following the trade date
  (204(a)(2)).

"Settlement day" is a day on which the registered clearing agency settles (204(g)(3)): in the United
States, DTC, whose business days are the DTC / Fedwire calendar. Rule 204 reaches US equity
securities cleared there only: other markets, and debt, get no close-out deadline.
"""

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from records.reference.models import Instrument, Market, SettlementCalendar
from records.reference.services.calendar import add_settlement_days, is_settlement_day

# Reg SHO bases (SettlementFail.RegShoBasis).
SHORT, LONG, RULE_144 = "SHORT", "LONG", "RULE_144"
REGSHO_BASES = (SHORT, LONG, RULE_144)
# Rule 204 applies to equity securities (Exchange Act s. 3(a)(11)): shares, ETFs and funds, not bonds.
REGSHO_ASSET_CLASSES = (Instrument.AssetClass.EQUITY, Instrument.AssetClass.ETF, Instrument.AssetClass.FUND)
RULE_144_CALENDAR_DAYS = 35

# Age buckets of the fails dashboard and API, in settlement days: (code, lowest age, highest age or None).
AGE_BUCKETS = (("0-1", 0, 1), ("2-3", 2, 3), ("4-5", 4, 5), ("6-10", 6, 10), (">10", 11, None))
AGE_BUCKET_CODES = tuple(code for code, _low, _high in AGE_BUCKETS)

# Fail kinds and causes (SettlementFail.Kind, SettlementFail.Cause).
DELIVER, RECEIVE = "DELIVER", "RECEIVE"
SECURITIES, CASH, COUNTERPARTY = "SECURITIES", "CASH", "COUNTERPARTY"

# How long a run of calendar days between two dates may be before the age is refused (a typo, not a fail).
_MAX_AGE_SPAN_DAYS = 366 * 30


def _calendar_key(market: Market) -> tuple[str, str]:
    return market.settlement_calendar, market.mic if market.settlement_calendar == SettlementCalendar.EXCHANGE else ""


_AGES: dict[tuple, int] = {}


def fail_age_days(*, market: Market, failed_on: dt.date, as_of: dt.date) -> int:
    """Return a fail's age on as_of: the settlement days of the market after failed_on, up to and including as_of.

    0 on the day it failed (and before), 1 on the next settlement day; weekends and the settlement
    system's holidays do not count.
    """
    if as_of <= failed_on:
        return 0
    key = (*_calendar_key(market), failed_on, as_of)
    age = _AGES.get(key)
    if age is None:
        if (as_of - failed_on).days > _MAX_AGE_SPAN_DAYS:
            raise ValueError(f"A fail since {failed_on} aged to {as_of} spans more than 30 years.")
        age = sum(1 for n in range(1, (as_of - failed_on).days + 1)
                  if is_settlement_day(market=market, day=failed_on + dt.timedelta(days=n)))
        if len(_AGES) > 100_000:
            _AGES.clear()
        _AGES[key] = age
    return age


def age_bucket(age_days: int) -> str:
    """Return the age bucket of an age in settlement days: "0-1", "2-3", "4-5", "6-10" or ">10"."""
    for label, low, high in AGE_BUCKETS:
        if age_days >= low and (high is None or age_days <= high):
            return label
    return AGE_BUCKETS[0][0]


def regsho_applies(*, market: Market, asset_class: str, kind: str) -> bool:
    """Return True if a fail of this kind in this market and asset class has a Rule 204 close-out deadline.

    Fails to deliver in equity securities settling at DTC (a US market) only.
    """
    return (kind == DELIVER and market.settlement_calendar == SettlementCalendar.DTC
            and asset_class in REGSHO_ASSET_CLASSES)


def close_out_deadline(*, basis: str, market: Market, settlement_date: dt.date, trade_date: dt.date) -> dt.date:
    """Return the Rule 204 close-out date of a fail to deliver: the close-out must be done by the opening then.

    SHORT: the first settlement day after the settlement date (17 CFR 242.204(a)); LONG: the third
    consecutive settlement day after it (204(a)(1), (a)(3)); RULE_144: the 35th calendar day after
    the trade date (204(a)(2)). Settlement days are the market's settlement system's (DTC's).

    The 35th calendar day may be a weekend or a DTC holiday, which has no regular trading hours to
    close out by: the deadline is then the last settlement day before it, so the close-out is never
    planned for after the day the rule names.
    """
    if basis == SHORT:
        return add_settlement_days(market=market, start=settlement_date, days=1)
    if basis == LONG:
        return add_settlement_days(market=market, start=settlement_date, days=3)
    if basis == RULE_144:
        day = trade_date + dt.timedelta(days=RULE_144_CALENDAR_DAYS)
        while not is_settlement_day(market=market, day=day):
            day -= dt.timedelta(days=1)
        return day
    raise ValueError(f"Unknown Reg SHO basis {basis!r} (one of {', '.join(REGSHO_BASES)}).")


def deadline_state(*, deadline: dt.date | None, as_of: dt.date, closed: bool = False) -> str:
    """Return "overdue", "due" (today) or "" for a close-out deadline seen on as_of; "" once the fail is closed."""
    if deadline is None or closed:
        return ""
    if deadline < as_of:
        return "overdue"
    if deadline == as_of:
        return "due"
    return ""


def penalty_fail_type(*, kind: str, cause: str) -> str:
    """Return the CSDR penalty rate's type of fail (PenaltyRate.FailType): SECURITIES or CASH.

    Lack of securities, and a counterparty failing to deliver securities to us, are SECURITIES
    fails; lack of cash, ours or (on our delivery) the counterparty's, is a CASH fail. Mirrored in
    the SQL of settlements.fails.services.fail_penalties_accrue.
    """
    if cause == CASH or (cause == COUNTERPARTY and kind == DELIVER):
        return CASH
    return SECURITIES


def penalty_payable(*, kind: str, cause: str) -> bool:
    """Return True if we are the failing party (we pay the penalty), False if the counterparty is (we receive it)."""
    return (kind == DELIVER and cause == SECURITIES) or (kind == RECEIVE and cause == CASH)


def penalty_amount(*, rate: Decimal, reference_value: Decimal, minor_units: int) -> Decimal:
    """Return a day's penalty: rate times reference value, rounded half up to the currency's minor unit."""
    return (rate * reference_value).quantize(Decimal(1).scaleb(-minor_units), ROUND_HALF_UP)


def settlement_day_back(*, market: Market, as_of: dt.date, count: int) -> dt.date:
    """Return the count-th settlement day of the market on or before as_of (count 1: as_of itself if it settles)."""
    if count < 1:
        raise ValueError("count starts at 1")
    day = as_of
    while not is_settlement_day(market=market, day=day):
        day -= dt.timedelta(days=1)
    return day if count == 1 else add_settlement_days(market=market, start=day, days=-(count - 1))


def bucket_failed_on_bounds(*, market: Market, as_of: dt.date, bucket: str) -> tuple[dt.date | None, dt.date | None]:
    """Return (earliest, before) such that a fail of the market is in the age bucket on as_of exactly when
    earliest <= failed_on < before (None: unbounded): the bucket as a filter a query can use.

    An age of at least k means failed before the k-th settlement day back from as_of; an age of at
    most h means failed on or after the (h+1)-th.
    """
    for code, low, high in AGE_BUCKETS:
        if code == bucket:
            before = settlement_day_back(market=market, as_of=as_of, count=low) if low else None
            earliest = settlement_day_back(market=market, as_of=as_of, count=high + 1) if high is not None else None
            return earliest, before
    raise ValueError(f"Unknown age bucket {bucket!r} (one of {', '.join(AGE_BUCKET_CODES)}).")
