"""The positions page (the stock record, valued) and the inventory page (positions as of a date, per account)."""

import lxml.html
import pytest

from tests.conftest import APPLE, SAP, VODAFONE
from tests.pages import column, table_rows

pytestmark = pytest.mark.django_db


# Positions -------------------------------------------------------------------------------------

def test_positions_show_the_stock_record_with_market_value(signed_in, book):
    rows = table_rows(signed_in.get("/records/positions/"), "positions")
    assert [(r[0], r[2], r[4], r[5], r[6], r[7], r[9], r[10]) for r in rows] == [
        ("HOUSE", "SAP", "50", "50", "0", "187.36", "9,368.00", "EUR"),
        ("HOUSE", "AAPL", "100", "100", "0", "190.10", "19,010.00", "USD"),
    ]


@pytest.mark.parametrize(("query", "expected"), [
    ("include_flat=on", [("ACC-001", "MSFT"), ("HOUSE", "SAP"), ("HOUSE", "AAPL")]),
    ("account=house&instrument=sap", [("HOUSE", "SAP")]),
    (f"instrument={APPLE}", [("HOUSE", "AAPL")]),
    ("account=ACC-001", []),
])
def test_position_filters(signed_in, book, query, expected):
    rows = table_rows(signed_in.get(f"/records/positions/?{query}"), "positions")
    assert [(r[0], r[2]) for r in rows] == expected


# Inventory -------------------------------------------------------------------------------------

INVENTORY_HEAD = ["Symbol", "ISIN", "Name", "Traded", "Settled", "Pending receipt", "Pending delivery",
                  "Available", "Price", "Price date", "Market value", "Ccy"]


def test_inventory_of_an_account_today(signed_in, blotter, book):
    response = signed_in.get("/records/inventory/?account=HOUSE")
    assert table_rows(response, "inventory") == [
        # SAP: 50 opening + 50 bought (its SETTLED status was set directly, so still pending in the stock record).
        ["SAP", SAP, "SAP SE", "100", "50", "50", "0", "50", "187.36", book.d1.isoformat(), "18,736.00", "EUR"],
        ["AAPL", APPLE, "Apple Inc.", "80", "100", "0", "20", "80", "190.10", book.d0.isoformat(), "15,208.00",
         "USD"],
    ]
    assert table_rows(response, "inventory", section="tfoot") == [
        ["Market value, all 2 positions", "18,736.00", "EUR"], ["", "15,208.00", "USD"]]
    doc = lxml.html.fromstring(response.content.decode())
    assert [" ".join(th.text_content().split()) for th in doc.xpath('//table[@id="inventory"]/thead//th')] == \
        INVENTORY_HEAD
    assert doc.xpath('//input[@name="as_of"]/@value') == [book.today.isoformat()]


def test_inventory_flags_a_missing_price_and_leaves_it_out_of_the_totals(signed_in, blotter, book):
    response = signed_in.get("/records/inventory/?account=ACC-001")
    assert table_rows(response, "inventory") == [
        ["VOD", VODAFONE, "Vodafone", "-1,000", "0", "0", "1,000", "0", "—", "No price", "—", "GBP"],
        ["AAPL", APPLE, "Apple Inc.", "100", "0", "100", "0", "0", "190.10", book.d0.isoformat(), "19,010.00", "USD"],
    ]
    assert table_rows(response, "inventory", section="tfoot") == [
        ["Market value, all 2 positions", "0.00", "GBP +1 unpriced"], ["", "19,010.00", "USD"]]
    assert b'<tr class="unpriced">' in response.content


def test_inventory_as_of_a_past_date_takes_out_later_trades_and_uses_that_days_price(signed_in, blotter):
    response = signed_in.get(f"/records/inventory/?account=ACC-001&as_of={blotter.d3}")
    assert table_rows(response, "inventory") == [
        ["AAPL", APPLE, "Apple Inc.", "100", "0", "100", "0", "0", "180.00", blotter.d3.isoformat(), "18,000.00",
         "USD"],
    ]
    response = signed_in.get(f"/records/inventory/?account=HOUSE&as_of={blotter.d2}")
    # The opening stock (value date d1) comes after d2; the SAP buy of d2 does not.
    assert table_rows(response, "inventory") == [
        ["SAP", SAP, "SAP SE", "50", "0", "50", "0", "0", "—", "No price", "—", "EUR"],
    ]


def test_inventory_of_every_account_adds_an_account_column_and_pages(signed_in, blotter):
    response = signed_in.get("/records/inventory/")
    assert [(row[0], row[1]) for row in table_rows(response, "inventory")] == [
        ("ACC-001", "VOD"), ("ACC-001", "AAPL"), ("HOUSE", "SAP"), ("HOUSE", "AAPL")]
    assert table_rows(response, "inventory", section="tfoot") == [
        ["Market value, all 4 positions", "18,736.00", "EUR"], ["", "0.00", "GBP +1 unpriced"],
        ["", "34,218.00", "USD"]]


def test_inventory_by_instrument_and_bad_filters(signed_in, blotter):
    assert column(signed_in.get("/records/inventory/?instrument=aapl"), "inventory") == ["ACC-001", "HOUSE"]
    unknown = signed_in.get("/records/inventory/?account=NOPE")
    assert "Select a valid choice" in unknown.content.decode()
    assert table_rows(unknown, "inventory") == []
    future = signed_in.get("/records/inventory/?account=HOUSE&as_of=2999-01-01")
    assert "Must not be in the future." in future.content.decode()
    assert len(table_rows(future, "inventory")) == 2  # as of today
