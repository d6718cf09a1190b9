"""The cash balances page: a balance per account and currency, and totals per currency of what the filters keep."""

import lxml.html
import pytest

from tests.pages import table_rows

pytestmark = pytest.mark.django_db


def test_cash_balances_per_account_and_currency_with_totals_per_currency(signed_in, book):
    response = signed_in.get("/records/cash/")
    # Available = balance - reserved + the account's credit limit (ACC-001: 1,000; HOUSE: none).
    assert [(r[0], r[3], r[4], r[5], r[6], r[7]) for r in table_rows(response, "cash-balances")] == [
        ("ACC-001", "EUR", "250.50", "0.00", "1,000.00", "1,250.50"),
        ("ACC-001", "USD", "1,000.00", "0.00", "1,000.00", "2,000.00"),
        ("HOUSE", "USD", "4,998,999.75", "0.00", "0.00", "4,998,999.75"),
    ]
    strip = lxml.html.fromstring(response.content.decode()).get_element_by_id("cash-totals-strip")
    assert " ".join(strip.text_content().split()) == (
        "Totals of 3 matching balances: EUR 250.50 USD 4,999,999.75")
    totals = table_rows(response, "cash-balances", section="tfoot")
    assert [row[1:] for row in totals] == [
        ["EUR", "250.50", "0.00", "1,000.00", "1,250.50", "1 account"],
        ["USD", "4,999,999.75", "0.00", "1,000.00", "5,000,999.75", "2 accounts"],
    ]


@pytest.mark.parametrize(("query", "rows", "totals"), [
    ("currency=usd", [("ACC-001", "USD"), ("HOUSE", "USD")], [("USD", "4,999,999.75")]),
    ("account=acc-001", [("ACC-001", "EUR"), ("ACC-001", "USD")], [("EUR", "250.50"), ("USD", "1,000.00")]),
    ("account=HOUSE&currency=EUR", [], []),
])
def test_cash_balance_filters_and_their_totals(signed_in, book, query, rows, totals):
    response = signed_in.get(f"/records/cash/?{query}")
    assert [(r[0], r[3]) for r in table_rows(response, "cash-balances")] == rows
    assert [(r[1], r[2]) for r in table_rows(response, "cash-balances", section="tfoot")] == totals
