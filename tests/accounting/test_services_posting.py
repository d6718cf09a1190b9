# ruff: noqa: F811 - the fixtures imported from helpers_posting are parameters of the tests
"""Posting runs: trade-date entries with FIFO and average cost, amendments and cancellations restated,
stock and cash movements, idempotent reruns."""

from decimal import Decimal

import pytest

from accounting.models import CostLot, JournalEntry
from records.positions.models import Position
from records.trades import services as trade_services
from tests.accounting.helpers_posting import (  # noqa: F401
    TRADE_DATE,
    assert_balanced,
    balances,
    books,
    entries,
    firm,
    investments,
    post,
    realized,
)
from tests.settlements.helpers_settlement import fund, hold

pytestmark = pytest.mark.django_db
D = Decimal


def test_a_buy_posts_investments_at_cost_and_a_payable_and_expenses_its_commission(books):
    [trade_id] = books.book(("ACC-001", "BRKR-B", "AAPL", "BUY", "10", "100.5"))
    from records.trades.models import Trade

    Trade.objects.filter(pk=trade_id).update(commission=D("2.5"))  # commission as captured
    post()
    [entry] = entries("TRADE_BUY")
    assert (entry.source_type, entry.source_id, entry.source_version, entry.entry_date) == (
        "TRADE", trade_id, 1, TRADE_DATE)
    lines = {line.gl_account.role: (line.amount, line.quantity) for line in entry.lines.select_related("gl_account")}
    assert lines == {"INVESTMENTS": (D("1005"), D("10")), "PAYABLE_PURCHASES": (D("-1005"), D(0)),
                     "COMMISSION_EXPENSE": (D("2.5"), D(0)), "COMMISSIONS_PAYABLE": (D("-2.5"), D(0))}
    assert_balanced()


def test_a_rerun_posts_nothing_new(books):
    books.book(("ACC-001", "BRKR-B", "AAPL", "BUY", "10", "100"), ("ACC-001", "BRKR-B", "AAPL", "SELL", "4", "110"))
    fund(books, "ACC-001", "5000")
    first = post()
    count = JournalEntry.objects.count()
    second = post()
    assert count == 3 and JournalEntry.objects.count() == count
    assert first.rows_affected == 3 and second.rows_affected == 0


def test_fifo_relieves_the_oldest_lots_first_and_realizes_the_difference(books):
    books.book(("ACC-001", "BRKR-B", "AAPL", "BUY", "10", "100"), ("ACC-001", "BRKR-B", "AAPL", "BUY", "10", "120"),
               ("ACC-001", "BRKR-B", "AAPL", "SELL", "15", "130"))
    post()
    acc, aapl = books.accounts["ACC-001"], books.instruments["AAPL"]
    # FIFO: 10 @ 100 + 5 @ 120 = 1,600 of cost against 1,950 of proceeds.
    assert realized(acc, aapl) == D("350")
    assert investments(acc, aapl) == (D("5"), D("600"))
    assert list(CostLot.objects.filter(account=acc).order_by("id").values_list("quantity", "cost")) == [
        (D(0), D(0)), (D(5), D(600))]


def test_average_cost_relieves_at_the_pooled_cost(books):
    acc = books.accounts["ACC-001"]
    acc.cost_method = "AVERAGE"
    acc.save(update_fields=["cost_method"])
    books.book(("ACC-001", "BRKR-B", "AAPL", "BUY", "10", "100"), ("ACC-001", "BRKR-B", "AAPL", "BUY", "20", "130"),
               ("ACC-001", "BRKR-B", "AAPL", "SELL", "15", "150"))
    post()
    aapl = books.instruments["AAPL"]
    # Average cost 3,600 / 30 = 120: 15 sold at 150 realize 450.
    assert realized(acc, aapl) == D("450")
    assert investments(acc, aapl) == (D("15"), D("1800"))


def test_a_short_sale_opens_a_short_lot_and_the_cover_realizes(books):
    books.book(("HOUSE", "BRKR-B", "MSFT", "SELL", "5", "400"), ("HOUSE", "BRKR-B", "MSFT", "BUY", "5", "380"))
    post()
    house, msft = books.accounts["HOUSE"], books.instruments["MSFT"]
    assert realized(house, msft) == D("100")
    assert investments(house, msft) == (D(0), D(0))


def test_an_amendment_after_posting_reverses_and_reposts_and_restates_later_sales(books):
    buy, sell = books.book(("ACC-001", "BRKR-B", "AAPL", "BUY", "10", "100"),
                           ("ACC-001", "BRKR-B", "AAPL", "SELL", "10", "110"))
    post()
    acc, aapl = books.accounts["ACC-001"], books.instruments["AAPL"]
    assert realized(acc, aapl) == D("100")
    from django.db import transaction

    with transaction.atomic():
        trade_services.trade_amend(actor=books.ops, trade_id=buy, changes={"price": D("105")}, reason="wrong price")
    post()
    assert realized(acc, aapl) == D("50")
    assert investments(acc, aapl) == (D(0), D(0))
    reversed_ = entries("TRADE_REVERSAL")
    assert sorted(e.source_id for e in reversed_) == sorted([buy, sell])
    reposted = JournalEntry.objects.filter(rule__in=["TRADE_BUY", "TRADE_SELL"], reversed_by__isnull=True)
    assert sorted((e.source_id, e.source_version, e.generation) for e in reposted) == [(buy, 2, 0), (sell, 1, 1)]
    assert_balanced()
    assert post().rows_affected == 0


def test_a_cancellation_after_posting_reverses_the_entry(books):
    [trade_id] = books.book(("ACC-001", "BRKR-B", "AAPL", "BUY", "10", "100"))
    post()
    from django.db import transaction

    with transaction.atomic():
        trade_services.trade_cancel(actor=books.ops, trade_id=trade_id, reason="booked twice")
    post()
    assert balances(account=books.accounts["ACC-001"]) == {}
    [reversal] = entries("TRADE_REVERSAL")
    assert reversal.reversal_of.source_id == trade_id


def test_stock_and_cash_movements_post_and_the_ledger_matches_the_records(books):
    hold(books, "HOUSE", "SAP", "100")
    fund(books, "HOUSE", "1000", "EUR")
    post()
    house, sap = books.accounts["HOUSE"], books.instruments["SAP"]
    assert investments(house, sap) == (D("100"), D("20000"))
    assert Position.objects.get(account=house, instrument=sap).traded_quantity == D("100")
    assert balances(account=house)[("CASH", "EUR")] == D("1000")
    # Base amounts at EUR/USD 1.10.
    assert {line.base_amount for line in JournalEntry.objects.get(rule="CASH_FUNDS").lines.all()} == {
        D("1100"), D("-1100")}


def test_an_event_without_an_fx_rate_waits_and_posts_once_the_rate_is_stored(books):
    from datetime import date

    from tests.accounting.helpers_posting import rate

    fund(books, "HOUSE", "1000", "CHF")
    job = post()
    assert not JournalEntry.objects.filter(currency="CHF").exists()
    reasons = {k: v for chunk in job.result for k, v in chunk["unpostable"].items()}
    assert reasons == {"no CHF/USD FX rate on or before 2026-11-20": 1}
    rate("USD", "CHF", date(2026, 11, 19), "0.8")
    post()
    entry = JournalEntry.objects.get(currency="CHF")
    assert entry.lines.get(gl_account__role="CASH").base_amount == D("1250")
