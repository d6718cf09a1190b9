# ruff: noqa: F811 - the fixtures imported from the helpers are parameters of the tests
"""Posting what clearing and settlement did: netting, DVP settlement (full, partial, gross), fail penalties;
then the end of day's mark to market and FX revaluation, and closed periods."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from accounting.models import JournalEntry, Period
from accounting.posting import services as posting
from records.cash.models import CashBalance
from settlements.models import FailPenalty, SettlementFail
from tests.accounting.helpers_posting import assert_balanced, balances, entries, investments, post, rate, run
from tests.data import price
from tests.settlements.helpers_settlement import (  # noqa: F401
    NEXT_DAY,
    SETTLES,
    TRADE_DATE,
    book_and_instruct,
    firm,
    fund,
    hold,
    own_steps_only,
    settle,
)

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def priced(firm):
    with transaction.atomic():
        for symbol, value in (("AAPL", "10"), ("MSFT", "20"), ("SAP", "200"), ("VOD", "1.1")):
            price(firm.instruments[symbol], TRADE_DATE, value)
        rate("EUR", "USD", TRADE_DATE, "1.10")
        rate("GBP", "USD", TRADE_DATE, "1.25")
    return firm


def test_a_netted_obligation_settles_and_clears_receivables_payables_and_the_net_obligation(priced):
    fund(priced, "ACC-001", "10000")
    book_and_instruct(priced, ("ACC-001", "BRKR-B", "AAPL", "BUY", "100", "10.25"),
                      ("ACC-001", "BRKR-B", "AAPL", "SELL", "40", "10.5"))
    settle()
    post()
    acc = priced.accounts["ACC-001"]
    [netting] = entries("NETTING")
    assert {line.gl_account.role: line.amount for line in netting.lines.select_related("gl_account")} == {
        "PAYABLE_PURCHASES": D("1025"), "RECEIVABLE_SALES": D("-420"), "NET_OBLIGATIONS": D("-605")}
    [settlement] = entries("SETTLEMENT_NET")
    assert settlement.entry_date == SETTLES
    book = balances(account=acc)
    assert ("NET_OBLIGATIONS", "USD") not in book and ("RECEIVABLE_SALES", "USD") not in book
    assert ("PAYABLE_PURCHASES", "USD") not in book
    assert book[("CASH", "USD")] == CashBalance.objects.get(account=acc, currency="USD").balance == D("9395")
    assert_balanced()


def test_rounding_between_trades_and_their_obligation_goes_to_settlement_differences(priced):
    fund(priced, "ACC-001", "100")
    # Each trade rounds 1.00005 to 1.0001; the obligation rounds the exact sum 2.0001 once.
    book_and_instruct(priced, ("ACC-001", "BRKR-B", "AAPL", "BUY", "1", "1.00005"),
                      ("ACC-001", "BRKR-B", "AAPL", "BUY", "1", "1.00005"))
    settle()
    post()
    book = balances(account=priced.accounts["ACC-001"])
    assert book[("SETTLEMENT_DIFFERENCES", "USD")] == D("-0.0001")
    assert ("NET_OBLIGATIONS", "USD") not in book and ("PAYABLE_PURCHASES", "USD") not in book
    assert book[("CASH", "USD")] == D("100") - D("2.0001")


def test_a_partial_delivery_posts_its_proportional_cash_and_the_rest_when_it_settles(priced):
    hold(priced, "HOUSE", "AAPL", "30")
    book_and_instruct(priced, ("HOUSE", "BRKR-B", "AAPL", "SELL", "100", "10.01"), allow_partial=True)
    settle()
    post()
    house = priced.accounts["HOUSE"]
    assert balances(account=house)[("NET_OBLIGATIONS", "USD")] == D("700.70")
    assert balances(account=house)[("CASH", "USD")] == D("300.30")
    hold(priced, "HOUSE", "AAPL", "70")
    settle(NEXT_DAY)
    post()
    book = balances(account=house)
    assert ("NET_OBLIGATIONS", "USD") not in book and book[("CASH", "USD")] == D("1001")
    assert [e.entry_date for e in entries("SETTLEMENT_NET")] == [SETTLES, NEXT_DAY]
    assert investments(house, priced.instruments["AAPL"])[0] == 0


def test_a_fail_penalty_we_owe_is_expensed_and_one_owed_to_us_is_income(priced):
    fund(priced, "HOUSE", "1000")
    book_and_instruct(priced, ("HOUSE", "BRKR-B", "AAPL", "SELL", "100", "10"), allow_partial=False)
    settle()
    fail = SettlementFail.objects.get()
    assert (fail.kind, fail.cause) == ("DELIVER", "SECURITIES")
    FailPenalty.objects.create(fail=fail, penalty_date=SETTLES, unsettled_quantity=100, reference_price=10,
                               rate=D("0.0001"), amount=D("0.10"), currency="USD", created_at=timezone.now())
    post()
    [entry] = entries("PENALTY_PAID")
    assert {line.gl_account.role: line.amount for line in entry.lines.select_related("gl_account")} == {
        "PENALTY_EXPENSE": D("0.10"), "PENALTIES_PAYABLE": D("-0.10")}
    SettlementFail.objects.filter(pk=fail.pk).update(kind="RECEIVE", cause="COUNTERPARTY")
    FailPenalty.objects.create(fail=fail, penalty_date=NEXT_DAY, unsettled_quantity=100, reference_price=10,
                               rate=D("0.0001"), amount=D("0.10"), currency="USD", created_at=timezone.now())
    post()
    assert entries("PENALTY_RECEIVED").count() == 1
    assert post().rows_affected == 0


def test_mark_to_market_posts_unrealized_and_reverses_it_the_next_day(priced):
    priced.book(("ACC-001", "BRKR-B", "AAPL", "BUY", "100", "10"))
    price(priced.instruments["AAPL"], SETTLES, "12.5")
    job = run(posting.MARK_TO_MARKET, as_of=SETTLES.isoformat())
    acc, aapl = priced.accounts["ACC-001"], priced.instruments["AAPL"]
    [mtm] = entries("MTM")
    [reversal] = entries("MTM_REVERSAL")
    assert (mtm.entry_date, reversal.entry_date, reversal.reversal_of_id) == (SETTLES, SETTLES + timedelta(days=1),
                                                                              mtm.pk)
    assert balances(account=acc, until=SETTLES)[("UNREALIZED_PNL", "USD")] == D("-250")
    assert balances(account=acc, until=SETTLES)[("VALUATION", "USD")] == D("250")
    assert ("UNREALIZED_PNL", "USD") not in balances(account=acc, until=SETTLES + timedelta(days=1))
    assert investments(acc, aapl) == (D(100), D(1000))
    assert [chunk["step"] for chunk in job.result][:1] == ["post"]
    run(posting.MARK_TO_MARKET, as_of=SETTLES.isoformat())
    assert entries("MTM").count() == 1 and entries("MTM_REVERSAL").count() == 1


def test_fx_revaluation_moves_the_base_amount_of_foreign_balances_to_the_closing_rate(priced):
    fund(priced, "HOUSE", "1000", "EUR")
    hold(priced, "HOUSE", "SAP", "10")
    priced.book(("HOUSE", "BRKR-B", "SAP", "SELL", "10", "210"))
    rate("EUR", "USD", SETTLES, "1.20")
    run(posting.MARK_TO_MARKET, as_of=SETTLES.isoformat())
    [entry] = entries("FX_REVALUATION")
    lines = {line.gl_account.role: (line.amount, line.base_amount) for line in entry.lines.select_related(
        "gl_account")}
    # Carried at EUR/USD 1.10, revalued at 1.20: the 1,000 EUR of cash and of account holders' funds offset;
    # the 2,100 EUR receivable gains 210 USD. Investments (at cost) are not revalued.
    assert (entry.currency, entry.entry_date) == ("EUR", SETTLES)
    assert lines == {"CASH": (0, D("100")), "ACCOUNT_FUNDS": (0, D("-100")), "RECEIVABLE_SALES": (0, D("210")),
                     "FX_REVALUATION": (0, D("-210"))}
    assert_balanced()
    run(posting.MARK_TO_MARKET, as_of=SETTLES.isoformat())
    assert entries("FX_REVALUATION").count() == 1


def test_an_event_of_a_closed_period_posts_on_the_first_open_day(priced):
    Period.objects.create(start=date(2026, 11, 1), end=date(2026, 11, 30), status=Period.Status.CLOSED)
    priced.book(("ACC-001", "BRKR-B", "AAPL", "BUY", "10", "10"))
    post()
    [entry] = entries("TRADE_BUY")
    assert (entry.event_date, entry.entry_date) == (TRADE_DATE, date(2026, 12, 1))
    assert not JournalEntry.objects.filter(entry_date__lte=date(2026, 11, 30)).exists()


def test_the_end_of_day_after_a_clean_day_reconciles_with_zero_breaks(priced):
    fund(priced, "ACC-001", "100000")
    fund(priced, "HOUSE", "5000", "EUR")
    hold(priced, "HOUSE", "AAPL", "500")
    book_and_instruct(priced, ("ACC-001", "BRKR-B", "AAPL", "BUY", "100", "10.25"),
                      ("HOUSE", "BRKR-B", "AAPL", "SELL", "40", "10.5"),
                      ("ACC-001", "BRKR-B", "AAPL", "SELL", "30", "10.75"))
    settle()
    price(priced.instruments["AAPL"], SETTLES, "11")
    rate("EUR", "USD", SETTLES, "1.15")
    job = run(posting.EOD, as_of=SETTLES.isoformat())
    [reconcile] = [chunk for chunk in job.result if chunk["step"] == "reconcile"]
    assert reconcile["breaks"] == 0 and reconcile["positions_checked"] >= 2 and reconcile["balances_checked"] >= 3
    assert entries("MTM").exists() and entries("FX_REVALUATION").exists()
    assert_balanced()


def test_a_trade_booked_after_the_last_posting_shows_as_a_break_until_it_is_posted(priced):
    fund(priced, "ACC-001", "1000")
    post()
    priced.book(("ACC-001", "BRKR-B", "AAPL", "BUY", "10", "10"))
    from accounting.reconciliation.services import reconciliation_reconcile
    from backoffice.core.jobs.models import JobRun

    job = JobRun.objects.create(kind="accounting-reconciliation", parameters={"as_of": TRADE_DATE.isoformat()})
    with transaction.atomic():
        before = reconciliation_reconcile(job=job, as_of=TRADE_DATE)
    assert before.breaks == 1
    job = run(posting.EOD, as_of=TRADE_DATE.isoformat())
    assert next(chunk for chunk in job.result if chunk["step"] == "reconcile")["breaks"] == 0
