"""The rules of a fail on real settlement calendars: age in settlement days, Reg SHO Rule 204 close-out
deadlines (17 CFR 242.204(a)), the penalty's type of fail and who pays it, rounding to minor units."""

import datetime as dt
from decimal import Decimal

import pytest

from records.reference.models import Market
from settlements.fails import rules

D = dt.date
US = Market(mic="XNYS", settlement_calendar="DTC")
NASDAQ = Market(mic="XNAS", settlement_calendar="DTC")
EU = Market(mic="XETR", settlement_calendar="T2S")
UK = Market(mic="XLON", settlement_calendar="CREST")
TOKYO = Market(mic="XTKS", settlement_calendar="EXCHANGE")


@pytest.mark.parametrize(("market", "failed_on", "as_of", "age"), [
    (US, D(2026, 11, 23), D(2026, 11, 23), 0),  # the day it failed
    (US, D(2026, 11, 23), D(2026, 11, 20), 0),  # before it failed
    (US, D(2026, 11, 23), D(2026, 11, 24), 1),
    (US, D(2026, 11, 20), D(2026, 11, 23), 1),  # a weekend does not age a fail
    (US, D(2026, 11, 10), D(2026, 11, 12), 1),  # Veterans Day: DTC (Fedwire) shut, NYSE open
    (US, D(2026, 10, 9), D(2026, 10, 13), 1),  # Columbus Day likewise
    (US, D(2026, 11, 25), D(2026, 11, 30), 2),  # Thanksgiving shut, the Friday after open
    (US, D(2026, 11, 20), D(2026, 12, 3), 8),
    (EU, D(2026, 4, 2), D(2026, 4, 7), 1),  # TARGET: Good Friday and Easter Monday shut
    (EU, D(2026, 4, 30), D(2026, 5, 1), 0),  # 1 May: a TARGET closing day ...
    (UK, D(2026, 4, 30), D(2026, 5, 1), 1),  # ... but CREST settles
    (UK, D(2026, 5, 1), D(2026, 5, 5), 1),  # early May bank holiday (4 May 2026): CREST shut
    (TOKYO, D(2026, 12, 30), D(2027, 1, 5), 2),  # the exchange's own calendar: 31 Dec to 3 Jan shut
])
def test_age_counts_the_settlement_days_of_the_market_after_the_fail_up_to_the_date(market, failed_on, as_of, age):
    assert rules.fail_age_days(market=market, failed_on=failed_on, as_of=as_of) == age


@pytest.mark.parametrize(("age", "bucket"), [(0, "0-1"), (1, "0-1"), (2, "2-3"), (3, "2-3"), (4, "4-5"), (5, "4-5"),
                                             (6, "6-10"), (10, "6-10"), (11, ">10"), (250, ">10")])
def test_ages_fall_in_the_dashboards_buckets(age, bucket):
    assert rules.age_bucket(age) == bucket


@pytest.mark.parametrize(("basis", "settlement_date", "trade_date", "deadline"), [
    # Short sale: the settlement day after the settlement date (204(a)).
    ("SHORT", D(2026, 11, 23), D(2026, 11, 20), D(2026, 11, 24)),
    ("SHORT", D(2026, 11, 20), D(2026, 11, 19), D(2026, 11, 23)),  # over a weekend
    ("SHORT", D(2026, 11, 10), D(2026, 11, 9), D(2026, 11, 12)),  # over Veterans Day (DTC shut)
    ("SHORT", D(2026, 10, 9), D(2026, 10, 8), D(2026, 10, 13)),  # over Columbus Day (DTC shut, NYSE open)
    # Long sale or bona fide market making: the third consecutive settlement day after it (204(a)(1), (3)).
    ("LONG", D(2026, 11, 23), D(2026, 11, 20), D(2026, 11, 27)),  # Thanksgiving (26 Nov) skipped
    ("LONG", D(2026, 11, 10), D(2026, 11, 9), D(2026, 11, 16)),
    ("LONG", D(2026, 11, 25), D(2026, 11, 24), D(2026, 12, 1)),
    # Rule 144: the 35th calendar day after the trade date (204(a)(2)) ...
    ("RULE_144", D(2026, 10, 2), D(2026, 10, 1), D(2026, 11, 5)),
    # ... rolled back to the last settlement day when that day has no trading hours:
    ("RULE_144", D(2026, 10, 23), D(2026, 10, 22), D(2026, 11, 25)),  # 26 Nov: Thanksgiving
    ("RULE_144", D(2026, 11, 23), D(2026, 11, 20), D(2026, 12, 24)),  # 25 Dec: Christmas
    ("RULE_144", D(2026, 10, 27), D(2026, 10, 26), D(2026, 11, 30)),  # a Monday stays
])
def test_the_close_out_deadline_follows_rule_204_on_the_dtc_calendar(basis, settlement_date, trade_date, deadline):
    assert rules.close_out_deadline(basis=basis, market=NASDAQ, settlement_date=settlement_date,
                                    trade_date=trade_date) == deadline


def test_an_unknown_basis_is_refused():
    with pytest.raises(ValueError, match="Unknown Reg SHO basis"):
        rules.close_out_deadline(basis="MAYBE", market=US, settlement_date=D(2026, 11, 23), trade_date=D(2026, 11, 20))


@pytest.mark.parametrize(("market", "asset_class", "kind", "applies"), [
    (US, "EQUITY", "DELIVER", True),
    (NASDAQ, "ETF", "DELIVER", True),
    (US, "FUND", "DELIVER", True),
    (US, "EQUITY", "RECEIVE", False),  # a fail to receive is the counterparty's fail to deliver
    (US, "GOVT_BOND", "DELIVER", False),  # not an equity security
    (US, "CORP_BOND", "DELIVER", False),
    (EU, "EQUITY", "DELIVER", False),  # not a US clearing agency
    (UK, "EQUITY", "DELIVER", False),
    (TOKYO, "EQUITY", "DELIVER", False),
])
def test_only_fails_to_deliver_us_equity_securities_get_a_close_out_deadline(market, asset_class, kind, applies):
    assert rules.regsho_applies(market=market, asset_class=asset_class, kind=kind) is applies


def test_a_deadline_is_due_on_its_day_overdue_after_and_nothing_once_the_fail_is_closed():
    deadline = D(2026, 11, 26)
    assert rules.deadline_state(deadline=deadline, as_of=D(2026, 11, 25)) == ""
    assert rules.deadline_state(deadline=deadline, as_of=D(2026, 11, 26)) == "due"
    assert rules.deadline_state(deadline=deadline, as_of=D(2026, 11, 27)) == "overdue"
    assert rules.deadline_state(deadline=deadline, as_of=D(2026, 11, 27), closed=True) == ""
    assert rules.deadline_state(deadline=None, as_of=D(2026, 11, 27)) == ""


@pytest.mark.parametrize(("kind", "cause", "fail_type", "payable"), [
    ("DELIVER", "SECURITIES", "SECURITIES", True),  # we lack the securities
    ("RECEIVE", "CASH", "CASH", True),  # we lack the cash
    ("RECEIVE", "COUNTERPARTY", "SECURITIES", False),  # the counterparty failed to deliver to us
    ("DELIVER", "COUNTERPARTY", "CASH", False),  # the counterparty failed to pay for our delivery
    ("DELIVER", "CASH", "CASH", False),
    ("RECEIVE", "SECURITIES", "SECURITIES", False),
])
def test_the_type_of_fail_sets_the_rate_and_the_failing_party_pays(kind, cause, fail_type, payable):
    assert rules.penalty_fail_type(kind=kind, cause=cause) == fail_type
    assert rules.penalty_payable(kind=kind, cause=cause) is payable


def test_a_penalty_is_rounded_half_up_to_the_minor_unit_of_its_currency():
    assert rules.penalty_amount(rate=Decimal("0.0001"), reference_value=Decimal("18925"), minor_units=2) == Decimal(
        "1.89")  # 1.8925
    assert rules.penalty_amount(rate=Decimal("0.0001"), reference_value=Decimal("18950"), minor_units=2) == Decimal(
        "1.90")  # 1.895: half up
    assert rules.penalty_amount(rate=Decimal("0.00005"), reference_value=Decimal("2500000"), minor_units=0) == Decimal(
        "125")  # JPY


@pytest.mark.parametrize("market", [US, EU, UK, TOKYO])
@pytest.mark.parametrize("as_of", [D(2026, 11, 27), D(2026, 11, 28), D(2026, 12, 28), D(2026, 4, 6)])
def test_a_bucket_as_a_range_of_fail_dates_holds_exactly_the_fails_of_that_age(market, as_of):
    for bucket in rules.AGE_BUCKET_CODES:
        earliest, before = rules.bucket_failed_on_bounds(market=market, as_of=as_of, bucket=bucket)
        for back in range(60):
            failed_on = as_of - dt.timedelta(days=back)
            inside = (earliest is None or failed_on >= earliest) and (before is None or failed_on < before)
            in_bucket = rules.age_bucket(rules.fail_age_days(market=market, failed_on=failed_on, as_of=as_of)) == bucket
            assert inside is in_bucket, (bucket, failed_on)


def test_settlement_days_back_from_a_holiday_start_at_the_last_settlement_day():
    assert rules.settlement_day_back(market=US, as_of=D(2026, 11, 26), count=1) == D(2026, 11, 25)  # Thanksgiving
    assert rules.settlement_day_back(market=US, as_of=D(2026, 11, 26), count=2) == D(2026, 11, 24)
    assert rules.settlement_day_back(market=US, as_of=D(2026, 11, 13), count=3) == D(2026, 11, 10)  # 11 Nov shut
