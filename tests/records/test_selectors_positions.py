"""Inventory figures have one source, records.positions.selectors: the API, the inventory page and the
stock-record export show the selector's available quantity and market value, not figures of their own."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from backoffice.core.fields import format_decimal
from records.exports.services import export_csv
from records.positions import selectors
from records.positions import selectors as positions_selectors  # the name the market-value test uses
from records.trades import services as trade_services
from tests.conftest import APPLE, VODAFONE, make_user
from tests.data import price, stock, trading_days_before
from tests.pages import table_rows

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def house(instruments, accounts, counterparties):
    """HOUSE holds 100 AAPL settled and has sold 30 (booked, not settled: a pending delivery); AAPL's price
    has four decimals, two more than the dollar's; 7 VOD without any price."""
    trade_date = trading_days_before(timezone.localdate(), 1)[0]
    opening = trade_date - timedelta(days=7)
    with transaction.atomic():
        stock(accounts["HOUSE"], instruments["AAPL"], "100", "STOCK-1", value_date=opening)
        stock(accounts["HOUSE"], instruments["VOD"], "7", "STOCK-2", value_date=opening)
        price(instruments["AAPL"], opening, "0.1235")
    item = trade_services.TradeInput(external_ref="SELL-1", account="HOUSE", counterparty="BRKR-A", instrument=APPLE,
                                     side="SELL", quantity=D("30"), price=D("0.1235"), trade_date=trade_date)
    results = trade_services.trade_submit_batch(submitted_by=make_user("oms", "front_office"), items=[(0, item)])
    assert results[0].status == "created", results
    return {"trade_date": trade_date, "opening": opening}


def selector_figures(as_of) -> dict[str, tuple]:
    """(available, market value) of each HOUSE position by ISIN, as the selector computes them."""
    return {row.instrument.isin: (selectors.inventory_available(row), selectors.inventory_market_value(row))
            for row in selectors.inventory_list(as_of=as_of, account_code="HOUSE")}


def test_the_selector_rounds_the_value_half_even_and_keeps_pending_deliveries_unavailable(house):
    assert selector_figures(timezone.localdate()) == {
        APPLE: (D("70"), D("8.64")),  # 70 x 0.1235 = 8.645: half-even to the cent, not 8.65
        VODAFONE: (D("7"), None),
    }
    assert selector_figures(house["trade_date"] - timedelta(days=1)) == {
        APPLE: (D("100"), D("12.35")), VODAFONE: (D("7"), None)}  # before the sale


@pytest.mark.parametrize("days_before_trade", [None, 1])
def test_the_api_shows_the_selectors_figures(fo_client, house, days_before_trade):
    as_of = timezone.localdate() if days_before_trade is None else house["trade_date"] - timedelta(days=1)
    expected = selector_figures(as_of)
    assert len(expected) == 2
    results = fo_client.get(f"/api/v1/inventory/?account=HOUSE&as_of={as_of}").json()["results"]
    assert {row["instrument"]: (row["available_quantity"], row["market_value"]) for row in results} == {
        isin: (format_decimal(available), format_decimal(value)) for isin, (available, value) in expected.items()}


def test_the_api_and_the_page_agree_on_a_position_with_a_pending_delivery(fo_client, client, house):
    apple = next(row for row in fo_client.get("/api/v1/inventory/?account=HOUSE").json()["results"]
                 if row["instrument"] == APPLE)
    assert {k: apple[k] for k in ("traded_quantity", "settled_quantity", "pending_delivery", "available_quantity",
                                  "price", "market_value")} == {
        "traded_quantity": "70", "settled_quantity": "100", "pending_delivery": "30", "available_quantity": "70",
        "price": "0.1235", "market_value": "8.64"}
    client.force_login(make_user("ops-dash", "operations"))
    page = {row[1]: row for row in table_rows(client.get("/records/inventory/?account=HOUSE"), "inventory")}
    assert len(page) == 2
    # Symbol, ISIN, name, traded, settled, receipt, delivery, available, price, price date, value, currency.
    assert (page[APPLE][7], page[APPLE][10]) == ("70", "8.64")
    assert (page[VODAFONE][7], page[VODAFONE][10]) == ("7", "—")


def test_the_stock_record_export_values_positions_as_the_selector_does(house):
    today = timezone.localdate()
    rows = list(csv.DictReader(io.StringIO("".join(export_csv("positions", date_from=today, date_to=today)),
                                           newline="")))
    assert {row["isin"]: row["market_value"] for row in rows} == {APPLE: "8.64", VODAFONE: ""}


def test_the_positions_page_values_positions_as_the_selector_does(client, house):
    client.force_login(make_user("ops-dash", "operations"))
    rows = table_rows(client.get("/records/positions/?account=HOUSE"), "positions")
    # Account, ISIN, symbol, name, traded, settled, unsettled, price, price date, market value, currency.
    assert {row[1]: row[9] for row in rows} == {APPLE: "8.64", VODAFONE: "—"}  # 8.645 half-even, not 8.65


def test_inventory_market_value_rounds_half_even_to_the_minor_unit_like_the_api():
    class Row:
        def __init__(self, traded, price_, currency):
            self.traded_as_of, self.price = D(traded), price_ and D(price_)
            self.settled_as_of, self.delivery_as_of = D(5), D(8)
            self.instrument = type("I", (), {"currency": currency})

    assert positions_selectors.inventory_market_value(Row("3", "0.125", "USD")) == D("0.38")
    assert positions_selectors.inventory_market_value(Row("1", "0.125", "USD")) == D("0.12")
    assert positions_selectors.inventory_market_value(Row("3", "101.5", "JPY")) == D("304")
    assert positions_selectors.inventory_market_value(Row("3", None, "USD")) is None
    assert positions_selectors.inventory_available(Row("3", None, "USD")) == 0
