"""Reference-data pages: each filter shows exactly the rows it should, and paging keeps the filters."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction

from records.reference.services import reference
from tests.conftest import APPLE, MICROSOFT, SAP, VODAFONE
from tests.pages import column, table_rows

pytestmark = pytest.mark.django_db


# Instruments ---------------------------------------------------------------------------------

def test_instruments_show_each_with_its_latest_price(signed_in, book):
    rows = {row[0]: row for row in table_rows(signed_in.get("/records/instruments/"), "instruments")}
    assert list(rows) == [SAP, VODAFONE, APPLE, MICROSOFT]  # by ISIN
    _isin, symbol, name, asset_class, market, ccy, cycle, last_price, price_date, status = rows[APPLE]
    assert (symbol, name, asset_class, market, ccy, cycle) == ("AAPL", "Apple Inc.", "Equity", "XNAS", "USD", "T+1")
    assert (last_price, price_date, status) == ("190.10", book.d0.isoformat(), "Active")
    assert rows[SAP][7:9] == ["187.36", book.d1.isoformat()]
    assert rows[VODAFONE][7:9] == ["—", ""]


@pytest.mark.parametrize(("query", "expected"), [
    ("asset_class=EQUITY&market=XNAS", [APPLE, MICROSOFT]),
    ("market=XETR", [SAP]),
    ("asset_class=ETF", []),
    ("search=micro", [MICROSOFT]),
    ("search=gb00", [VODAFONE]),
    ("search=aapl", [APPLE]),
    ("search=%20sap%20", [SAP]),
])
def test_instrument_filters(signed_in, book, query, expected):
    assert column(signed_in.get(f"/records/instruments/?{query}"), "instruments") == expected


def test_instrument_filter_with_an_unknown_market_says_so_and_ignores_it(signed_in, book):
    response = signed_in.get("/records/instruments/?market=NOPE&asset_class=EQUITY")
    assert b"Select a valid choice" in response.content
    assert column(response, "instruments") == [SAP, VODAFONE, APPLE, MICROSOFT]


# Accounts --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("query", "expected"), [
    ("", ["ACC-001", "ACC-002", "HOUSE"]),
    ("status=SUSPENDED", ["ACC-002"]),
    ("status=ACTIVE&kind=CLIENT", ["ACC-001"]),
    ("kind=HOUSE", ["HOUSE"]),
    ("search=client", ["ACC-001", "ACC-002"]),
    ("status=CLOSED", []),
])
def test_account_filters(signed_in, book, query, expected):
    assert column(signed_in.get(f"/records/accounts/?{query}"), "accounts") == expected


def test_account_status_is_a_coloured_pill(signed_in, book):
    content = signed_in.get("/records/accounts/").content.decode()
    assert '<span class="pill pill-warn" title="SUSPENDED">Suspended</span>' in content
    assert '<span class="pill pill-ok" title="ACTIVE">Active</span>' in content


# Counterparties ------------------------------------------------------------------------------

def test_counterparties_show_the_ccp_flag_and_who_clears_through_whom(signed_in, book):
    rows = table_rows(signed_in.get("/records/counterparties/"), "counterparties")
    assert [(r[0], r[3], r[4], r[5], r[6]) for r in rows] == [
        ("BRKR-A", "", "NSCC", "", "Confirmation required"),
        ("NSCC", "CCP", "", "1", "Locked-in"),
    ]


@pytest.mark.parametrize(("query", "expected"), [
    ("is_ccp=yes", ["NSCC"]),
    ("is_ccp=no", ["BRKR-A"]),
    ("search=broker", ["BRKR-A"]),
    ("search=549300EXMNSS6W5ZD872", ["NSCC"]),
])
def test_counterparty_filters(signed_in, book, query, expected):
    assert column(signed_in.get(f"/records/counterparties/?{query}"), "counterparties") == expected


# Prices ----------------------------------------------------------------------------------------

def test_prices_newest_date_first(signed_in, book):
    rows = table_rows(signed_in.get("/records/prices/"), "prices")
    assert [(r[0], r[2], r[4], r[5]) for r in rows] == [
        (book.d0.isoformat(), "AAPL", "190.10", "USD"),
        (book.d0.isoformat(), "MSFT", "415.50", "USD"),
        (book.d1.isoformat(), "SAP", "187.36", "EUR"),
        (book.d1.isoformat(), "AAPL", "189.25", "USD"),
    ]


def test_prices_filter_by_instrument_symbol_or_isin_and_date_range(signed_in, book):
    def shown(query):
        rows = table_rows(signed_in.get(f"/records/prices/?{query}"), "prices")
        return [(r[0], r[2]) for r in rows]

    d0, d1 = book.d0.isoformat(), book.d1.isoformat()
    assert shown("instrument=aapl") == [(d0, "AAPL"), (d1, "AAPL")]
    assert shown(f"instrument={APPLE}&date_from={d0}") == [(d0, "AAPL")]
    assert shown(f"date_to={d1}") == [(d1, "SAP"), (d1, "AAPL")]
    assert shown(f"date_from={d1}&date_to={d1}&instrument=SAP") == [(d1, "SAP")]
    assert shown("instrument=VOD") == []


def test_prices_with_a_reversed_date_range_say_so_and_apply_the_rest(signed_in, book):
    d0, d1 = book.d0.isoformat(), book.d1.isoformat()
    response = signed_in.get(f"/records/prices/?instrument=MSFT&date_from={d0}&date_to={d1}")
    assert b"Must not be before the start date." in response.content
    assert column(response, "prices", 2) == ["MSFT"]


def test_prices_are_paged_by_fifty_and_the_links_keep_the_filters(signed_in, book, instruments):
    first = book.today - timedelta(days=400)
    with transaction.atomic():
        reference.price_upsert(actor="test", prices=[
            reference.PriceInput(instrument=instruments["MSFT"], price_date=first + timedelta(days=n),
                                 price=Decimal("400") + n, currency="USD")
            for n in range(119)])  # 120 MSFT prices with the one of the book

    page1 = signed_in.get("/records/prices/?instrument=MSFT")
    assert len(table_rows(page1, "prices")) == 50
    assert b"1\xe2\x80\x9350 of 120" in page1.content
    assert 'href="?instrument=MSFT&amp;page=2" rel="next"' in page1.content.decode()
    assert 'href="?instrument=MSFT&amp;page=3" title="Last page"' in page1.content.decode()

    page3 = signed_in.get("/records/prices/?instrument=MSFT&page=3")
    assert len(table_rows(page3, "prices")) == 20
    assert column(page3, "prices", 0)[-1] == first.isoformat()
    # A page number past the end shows the last page rather than an error.
    assert column(signed_in.get("/records/prices/?instrument=MSFT&page=99"), "prices") == column(page3, "prices")
