"""The surveillance scenarios, each through a whole run: the hit, and the near miss just under its threshold."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from compliance.rules.models import ComplianceRule
from compliance.shorts.models import PenaltyBoxEntry
from records.audit.models import AuditRecord
from records.reference.models import Price
from tests.compliance.helpers_surveillance import DAY, alerts, book, fail, move, step, survey
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

CLOSE = datetime(2026, 11, 20, 21, 0, tzinfo=UTC)  # XNAS closes at 16:00 New York time (EST)


@pytest.fixture
def desk(instruments, accounts, counterparties):
    class Desk:
        user = make_user("desk")
        acc, house = accounts["ACC-001"], accounts["HOUSE"]
        aapl, msft = instruments["AAPL"], instruments["MSFT"]
        broker = counterparties["BRKR-A"]

        def trade(self, side, quantity, price, *, account=None, instrument=None, **options):
            return book(self.user, account or self.acc, instrument or self.aapl, self.broker, side, quantity, price,
                        **options)

    return Desk()


def _same_owner(desk):
    for account in (desk.acc, desk.house):
        account.beneficial_owner = "OWNER-1"
        account.save(update_fields=["beneficial_owner"])


# --- wash trades ---

def test_wash_trades_of_one_owner_across_accounts_within_the_band_raise_one_alert(desk):
    _same_owner(desk)
    buy = desk.trade("BUY", "100", "100")
    sell = desk.trade("SELL", "100", "100.99", account=desk.house)  # 0.99 apart over a mean of 100.495: 0.985%
    desk.trade("BUY", "5", "100", status="CANCELLED")
    job = survey()
    [alert] = alerts("wash-trades")
    assert alert.dedupe_key == f"wash:OWNER-1:{desk.aapl.pk}:2026-11-20"
    assert (alert.subject_type, alert.subject_id, alert.account_id, alert.job_id) == ("ACCOUNT", desk.acc.pk,
                                                                                       desk.acc.pk, job.pk)
    assert [r["id"] for r in alert.evidence["records"]] == [buy.pk, sell.pk]
    assert alert.evidence["records"][1]["label"] == "SELL 100 AAPL @ 100.99 (HOUSE, 2026-11-20)"
    figures = alert.evidence["figures"]
    assert (figures["trades"], figures["buy_vwap"], figures["sell_vwap"], figures["difference_pct"]) == (
        "2", "100", "100.99", "0.9851")
    assert step(job, "wash-trades")["raised"] == 1


def test_wash_trades_just_outside_the_band_raise_nothing(desk):
    _same_owner(desk)
    desk.trade("BUY", "100", "100")
    desk.trade("SELL", "100", "101.02", account=desk.house)  # 1.0148% apart
    survey()
    assert alerts("wash-trades") == []


def test_different_owners_are_no_wash(desk):
    desk.trade("BUY", "100", "100")
    desk.trade("SELL", "100", "100", account=desk.house)
    survey()
    assert alerts("wash-trades") == []


def test_the_wash_window_counts_trade_dates_back_from_the_run_date(desk):
    desk.trade("BUY", "100", "100", day=DAY - timedelta(days=1))
    desk.trade("SELL", "100", "100")
    survey()
    assert alerts("wash-trades") == []  # window_days 0: the same date only
    ComplianceRule.objects.filter(code="wash-trades").update(params={"window_days": 1})
    survey()
    assert len(alerts("wash-trades")) == 1


# --- large trades ---

def _history(desk, days=5, quantity="1000", instrument=None):
    for n in range(1, days + 1):
        desk.trade("BUY", quantity, "100", account=desk.house, instrument=instrument,
                   day=DAY - timedelta(days=n + (2 if n >= 5 else 0)))  # weekdays before the Friday


def test_a_trade_above_25_percent_of_the_average_daily_volume_alerts(desk):
    _history(desk)
    big = desk.trade("SELL", "251", "100")
    survey()
    [alert] = alerts("large-trade")
    assert (alert.subject_type, alert.subject_id, alert.dedupe_key) == ("TRADE", big.pk, f"large:{big.pk}")
    assert alert.evidence["figures"]["average_daily_volume"] == "1000"
    assert alert.evidence["figures"]["pct_of_adv"] == "25.1"
    assert alert.evidence["figures"]["days_with_volume"] == "5"


def test_a_trade_at_exactly_25_percent_of_adv_does_not_alert(desk):
    _history(desk)
    desk.trade("SELL", "250", "100")
    survey()
    assert alerts("large-trade") == []


def test_no_adv_alert_without_min_days_of_volume(desk):
    _history(desk, days=4)
    desk.trade("SELL", "5000", "100")
    survey()
    assert alerts("large-trade") == []


# --- scope ---

def test_the_most_specific_scope_wins_per_account(desk):
    _history(desk)
    ComplianceRule.objects.create(code="large-acc", kind="LARGE_TRADE", scope="ACCOUNT", scope_value="ACC-001",
                                  threshold=Decimal("50"), params={"adv_days": 20, "min_days": 5}, action="ALERT")
    desk.trade("SELL", "300", "100")  # 30%: under ACC-001's own 50%, the ALL rule does not apply to it
    house = desk.trade("SELL", "300", "100", account=desk.house)  # HOUSE: the ALL rule's 25%
    survey()
    assert [a.subject_id for a in alerts("large-trade")] == [house.pk]
    assert alerts("large-acc") == []


def test_instrument_and_asset_class_scopes(desk):
    _history(desk)
    _history(desk, instrument=desk.msft)
    ComplianceRule.objects.create(code="large-aapl", kind="LARGE_TRADE", scope="INSTRUMENT",
                                  scope_value=desk.aapl.isin, threshold=Decimal("10"), params={}, action="ALERT")
    ComplianceRule.objects.create(code="large-equity", kind="LARGE_TRADE", scope="ASSET_CLASS", scope_value="EQUITY",
                                  threshold=Decimal("90"), params={}, action="ALERT")
    aapl = desk.trade("SELL", "150", "100")  # 15%: the AAPL rule (10%) hits
    desk.trade("SELL", "300", "100", instrument=desk.msft)  # 30%: EQUITY's 90% applies, not ALL's 25%
    survey()
    assert [a.subject_id for a in alerts("large-aapl")] == [aapl.pk]
    assert alerts("large-equity") == [] and alerts("large-trade") == []


# --- structuring ---

def test_three_deposits_just_under_10000_within_five_days_alert(desk):
    first = move(desk.acc, "9500", DAY - timedelta(days=4))
    move(desk.acc, "9000", DAY - timedelta(days=1))
    latest = move(desk.acc, "9999.99", DAY)
    move(desk.acc, "-9500", DAY)  # a withdrawal: counted on its own
    survey()
    [alert] = alerts("structuring")
    assert alert.dedupe_key == f"structuring:{desk.acc.pk}:DEPOSIT:{first.pk}"
    assert (alert.subject_type, alert.subject_id) == ("ACCOUNT", desk.acc.pk)
    assert alert.evidence["figures"]["movements"] == "3"
    assert alert.evidence["figures"]["total"] == "28499.99"
    assert alert.evidence["figures"]["latest_movement"] == str(latest.pk)
    assert [r["type"] for r in alert.evidence["records"]] == ["CASH_MOVEMENT"] * 3 + ["ACCOUNT"]


def test_a_deposit_at_the_threshold_does_not_count(desk):
    move(desk.acc, "9500", DAY - timedelta(days=2))
    move(desk.acc, "9000", DAY - timedelta(days=1))
    move(desk.acc, "10000", DAY)
    move(desk.acc, "8999.99", DAY)  # under the 10% band
    survey()
    assert alerts("structuring") == []


def test_withdrawals_one_short_of_min_count_do_not_alert_and_three_do(desk):
    move(desk.acc, "-9500", DAY - timedelta(days=1))
    move(desk.acc, "-9600", DAY)
    survey()
    assert alerts("structuring") == []
    move(desk.acc, "-9700", DAY)
    survey()
    [alert] = alerts("structuring")
    assert alert.evidence["figures"]["direction"] == "WITHDRAWAL"


def test_deposits_outside_the_window_or_in_another_currency_do_not_count(desk):
    move(desk.acc, "9500", DAY - timedelta(days=7))  # Friday before: 5 value dates end on Monday
    move(desk.acc, "9500", DAY - timedelta(days=1))
    move(desk.acc, "9500", DAY, currency="EUR")
    move(desk.acc, "9500", DAY)
    survey()
    assert alerts("structuring") == []


# --- marking the close ---

def _closes(desk, previous="100", close="102.5"):
    for day, value in ((DAY - timedelta(days=1), previous), (DAY, close)):
        Price.objects.create(instrument=desk.aapl, price_date=day, price=Decimal(value), currency="USD")


def test_a_buy_in_the_last_minutes_that_moved_the_close_alerts(desk):
    _closes(desk)
    trade = desk.trade("BUY", "100", "102", created_at=CLOSE - timedelta(minutes=10))
    survey()
    [alert] = alerts("marking-close")
    assert (alert.subject_id, alert.dedupe_key) == (trade.pk, f"mark-close:{trade.pk}")
    assert alert.evidence["figures"]["close_move_pct"] == "2.5"
    assert alert.evidence["figures"]["seconds_before_close"] == "600"


def test_near_misses_of_marking_the_close(desk):
    _closes(desk)
    desk.trade("BUY", "100", "102", created_at=CLOSE - timedelta(minutes=15, seconds=1))  # just outside the window
    desk.trade("BUY", "100", "101.99", created_at=CLOSE - timedelta(minutes=5))  # under +2%
    desk.trade("SELL", "100", "97", created_at=CLOSE - timedelta(minutes=5))  # the close went up, not down
    survey()
    assert alerts("marking-close") == []


def test_a_sell_pushing_the_close_down_alerts(desk):
    _closes(desk, close="97.5")
    trade = desk.trade("SELL", "100", "98", created_at=CLOSE - timedelta(minutes=1))
    survey()
    assert [a.subject_id for a in alerts("marking-close")] == [trade.pk]


# --- fails past close-out and the penalty box ---

def test_a_fail_past_its_deadline_alerts_and_puts_the_account_in_the_penalty_box(desk):
    past = fail(desk.trade("SELL", "100", "100", day=DAY - timedelta(days=7)), deadline=DAY - timedelta(days=1))
    fail(desk.trade("SELL", "100", "100", day=DAY - timedelta(days=7), account=desk.house), deadline=DAY)
    job = survey()
    [alert] = alerts("fail-close-out")
    assert (alert.subject_type, alert.subject_id, alert.dedupe_key, alert.severity) == (
        "FAIL", past.pk, f"fail:{past.pk}", "CRITICAL")
    [entry] = PenaltyBoxEntry.objects.all()
    assert (entry.account_id, entry.instrument_id, entry.fail_id, entry.since, entry.released_on) == (
        desk.acc.pk, desk.aapl.pk, past.pk, DAY, None)
    assert AuditRecord.objects.filter(record_type="compliance.penaltyboxentry", action="CREATE").count() == 1
    assert step(job, "fail-close-out")["penalty_box_added"] == 1


def test_an_entry_is_released_once_its_fail_has_closed_out(desk):
    past = fail(desk.trade("SELL", "100", "100", day=DAY - timedelta(days=7)), deadline=DAY - timedelta(days=3))
    survey(DAY - timedelta(days=1))
    past.closed_on = DAY
    past.save(update_fields=["closed_on"])
    job = survey()
    entry = PenaltyBoxEntry.objects.get()
    assert (entry.released_on, entry.release_reason) == (DAY, "fail closed out 2026-11-20")
    assert step(job, "fail-close-out")["penalty_box_released"] == 1
    assert AuditRecord.objects.filter(record_type="compliance.penaltyboxentry", action="UPDATE").count() == 1
    assert len(alerts("fail-close-out")) == 1


# --- reruns and scale ---

def test_a_rerun_raises_nothing_new_and_counts_what_is_already_there(desk):
    _same_owner(desk)
    desk.trade("BUY", "100", "100")
    desk.trade("SELL", "100", "100", account=desk.house)
    fail(desk.trade("SELL", "100", "100", day=DAY - timedelta(days=7)), deadline=DAY - timedelta(days=1))
    first = survey()
    second = survey()
    assert [(r["step"], r["raised"]) for r in first.result if r["raised"]] == [("wash-trades", 1),
                                                                               ("fail-close-out", 1)]
    assert all(r["raised"] == 0 for r in second.result)
    assert step(second, "wash-trades")["existing"] == 1 and step(second, "fail-close-out")["existing"] == 1
    assert len(alerts("wash-trades")) == 1 and PenaltyBoxEntry.objects.count() == 1
    assert step(second, "fail-close-out")["penalty_box_added"] == 0


def _queries(desk, pairs: int) -> int:
    for _ in range(pairs):
        desk.trade("BUY", "100", "100")
        desk.trade("SELL", "100", "110")  # 10% apart: the wash statement runs and finds nothing
    with CaptureQueriesContext(connection) as captured:
        survey()
    return len(captured.captured_queries)


def test_the_number_of_queries_does_not_grow_with_the_number_of_trades(desk):
    assert _queries(desk, 1) == _queries(desk, 40)
