# ruff: noqa: F811 - the fixtures imported from the helpers are parameters of the tests
"""Cash and stock projection: cash reserved for instructions that pay (records/cash/reservations.py) and what the
balances then show; the inventory's pending receipts and deliveries split by settlement date
(records/positions/projection.py). Figures exact.
"""

from decimal import Decimal

import lxml.html
import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from backoffice.core.exceptions import BusinessRuleError
from records.audit.models import AuditRecord
from records.cash.models import CashBalance
from records.cash.reservations import cash_reservations_apply
from records.positions.models import Position
from records.positions.projection import pending_settlements
from records.trades.models import Trade
from tests.conftest import client_for
from tests.pages import table_rows
from tests.settlements.helpers_instructions import (
    SETTLES,
    SETTLES_EU,
    add_ssi,
    firm,  # noqa: F401
    fund,
    net,
    reserved,
)

pytestmark = pytest.mark.django_db
D = Decimal


# --- cash reservations ---

def test_reservations_add_and_release_per_account_and_currency_with_one_audit_record_each(firm):
    acc, house = firm.accounts["ACC-001"].pk, firm.accounts["HOUSE"].pk
    fund(firm.accounts["ACC-001"], "USD", "500", "DEP-1")
    with transaction.atomic():
        assert cash_reservations_apply({(acc, "USD"): D("100.50"), (house, "EUR"): D(7), (acc, "EUR"): D(0)},
                                       actor="test", reason="reserve") == 2
    assert (reserved("ACC-001"), reserved("HOUSE", "EUR"), reserved("ACC-001", "EUR")) == (D("100.5"), D(7), None)
    with transaction.atomic():
        cash_reservations_apply({(acc, "USD"): D("-40.50"), (house, "EUR"): D(-7)}, actor="test", reason="paid")
    assert (reserved("ACC-001"), reserved("HOUSE", "EUR")) == (D(60), D(0))
    assert CashBalance.objects.get(account_id=acc, currency="USD").balance == D(500)  # the balance never moves here
    trail = AuditRecord.objects.filter(record_type="records.cashbalance", reason__in=("reserve", "paid"))
    assert sorted((r.reason, r.before["reserved"], r.after["reserved"], r.after["balance"]) for r in trail) == [
        ("paid", "100.5", "60", "500"), ("paid", "7", "0", "0"), ("reserve", "0", "100.5", "500"),
        ("reserve", "0", "7", "0")]


def test_releasing_more_than_is_reserved_is_refused_and_changes_nothing(firm):
    acc = firm.accounts["ACC-001"].pk
    with transaction.atomic():
        cash_reservations_apply({(acc, "USD"): D(10)}, actor="test")
    before = AuditRecord.objects.count()
    for deltas in ({(acc, "USD"): D("-10.01")}, {(acc, "GBP"): D(-1)}, {(acc, "USD"): D(-5), (acc, "GBP"): D(-1)}):
        with pytest.raises(BusinessRuleError, match="Cannot release"), transaction.atomic():
            cash_reservations_apply(deltas, actor="test")
    assert reserved("ACC-001") == D(10) and AuditRecord.objects.count() == before


def test_balances_show_reserved_credit_limit_and_available_after_instructions_that_pay(firm):
    add_ssi("BRKR-B")
    fund(firm.accounts["ACC-001"], "USD", "20000", "DEP-1")
    firm.book(("ACC-001", "BRKR-B", "AAPL", "BUY", "100", "189.25"), ("ACC-001", "BRKR-B", "MSFT", "SELL", "5", "400"))
    net()
    body = client_for(firm.ops).get("/api/v1/cash/balances/?account=ACC-001").json()
    # 20,000 - 18,925 reserved + 1,000 credit limit; the sale's 2,000 is not counted before it settles.
    assert body["results"] == [{"account": "ACC-001", "currency": "USD", "balance": "20000", "reserved": "18925",
                                "credit_limit": "1000", "available": "2075"}]
    page = Client()
    page.force_login(firm.ops)
    assert [row[3:8] for row in table_rows(page.get("/records/cash/?account=ACC-001"), "cash-balances")] == [
        ["USD", "20,000.00", "18,925.00", "1,000.00", "2,075.00"]]


# --- pending settlements by date ---

@pytest.fixture
def pending(firm):
    """Trades of ACC-001 and HOUSE in AAPL (US, settles SETTLES) and SAP (EU, SETTLES_EU), some settled."""
    ids = firm.book(("ACC-001", "BRKR-B", "AAPL", "BUY", "100", "189.25"),
                    ("ACC-001", "BRKR-B", "AAPL", "SELL", "30", "190.10"),
                    ("HOUSE", "BRKR-B", "AAPL", "BUY", "10", "189"),
                    ("ACC-001", "BRKR-B", "SAP", "SELL", "4", "187.36"),
                    ("ACC-001", "BRKR-B", "SAP", "BUY", "1", "187"),
                    ("ACC-001", "BRKR-B", "MSFT", "BUY", "7", "415"))
    net()  # some CLEARED: still pending
    Trade.objects.filter(pk=ids[4]).update(status="SETTLED", settled_quantity=1)
    Trade.objects.filter(pk=ids[3]).update(status="PARTIALLY_SETTLED", settled_quantity=D("1.5"))
    Trade.objects.filter(pk=ids[5]).update(status="CANCELLED")
    return ids


def test_the_unsettled_part_of_each_trade_is_projected_by_date_instrument_and_currency(firm, pending):
    rows = pending_settlements()
    assert [(r.settlement_date, r.symbol, r.currency, r.receive, r.deliver, r.net, r.cash_out, r.cash_in, r.trades,
             r.accounts) for r in rows] == [
        (SETTLES, "AAPL", "USD", D(110), D(30), D(80), D("20815"), D("5703"), 3, 2),
        (SETTLES_EU, "SAP", "EUR", D(0), D("2.5"), D("-2.5"), D(0), D("468.4"), 1, 1)]
    only = pending_settlements(account_code="HOUSE")
    assert [(r.symbol, r.receive, r.cash_out, r.accounts) for r in only] == [("AAPL", D(10), D(1890), 1)]
    assert [r.symbol for r in pending_settlements(isin=firm.instruments["SAP"].isin)] == ["SAP"]


def test_the_projection_adds_up_to_the_positions_pending_receipts_and_deliveries(firm):
    firm.book(("ACC-001", "BRKR-B", "AAPL", "BUY", "100", "189.25"), ("ACC-001", "BRKR-B", "AAPL", "SELL", "30", "190"),
              ("HOUSE", "BRKR-B", "SAP", "SELL", "4", "187.36"), ("HOUSE", "BRKR-B", "VOD", "BUY", "1000", "0.7126"))
    net()
    for position in Position.objects.select_related("account", "instrument"):
        rows = pending_settlements(account_code=position.account.code, isin=position.instrument.isin)
        assert (sum((r.receive for r in rows), D(0)), sum((r.deliver for r in rows), D(0))) == (
            position.pending_receipt, position.pending_delivery)


def test_the_inventory_page_shows_what_is_still_to_settle_by_date(firm, pending):
    page = Client()
    page.force_login(firm.ops)
    response = page.get("/records/inventory/")
    us, eu = (f"{label}{' overdue' if day < timezone.localdate() else ''}"
              for label, day in (("Mon 2026-11-23", SETTLES), ("Tue 2026-11-24", SETTLES_EU)))
    assert table_rows(response, "pending-settlements") == [
        [us, "AAPL", "US0378331005", "110", "30", "80", "20,815.00", "5,703.00", "USD", "3", "2"],
        [eu, "SAP", "DE0007164600", "0", "2.5", "-2.5", "0.00", "468.40", "EUR", "1", "1"]]
    one = page.get("/records/inventory/?account=HOUSE")
    assert table_rows(one, "pending-settlements") == [
        [us, "AAPL", "US0378331005", "10", "0", "10", "1,890.00", "0.00", "USD", "1"]]
    link = lxml.html.fromstring(one.content.decode()).xpath('//table[@id="pending-settlements"]//a/@href')[0]
    assert link == "/records/trades/?account=HOUSE&instrument=US0378331005&settlement_date=2026-11-23"


def test_the_inventory_page_says_when_nothing_is_left_to_settle(firm):
    page = Client()
    page.force_login(firm.ops)
    response = page.get("/records/inventory/")
    assert table_rows(response, "pending-settlements") == []
    assert "Nothing left to settle: every booked trade has settled." in response.content.decode()
