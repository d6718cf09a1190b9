"""Every reference-data page, with a realistic book, as an operator sees it."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

PAGES = [
    # navigation label, table id, rows expected, screenshot name
    ("Accounts", "accounts", 7, "accounts"),
    ("Counterparties", "counterparties", 6, "counterparties"),
    ("Prices", "prices", 50, "prices"),
    ("Cash balances", "cash-balances", 9, "cash-balances"),
    ("Positions", "positions", 13, "positions"),
]


def test_every_reference_page_shows_its_rows(page, demo_book, operator, login, screenshot):
    login("jdoe", "pw-jdoe")
    for label, table_id, rows, name in PAGES:
        page.get_by_role("navigation").get_by_role("link", name=label, exact=True).click()
        expect(page.locator(".sidenav a.active")).to_have_text(label)
        expect(page.locator(f"#{table_id} tbody tr")).to_have_count(rows)
        screenshot(name)


def test_prices_filter_by_instrument_and_page_through_keeps_the_filter(page, demo_book, operator, login,
                                                                       screenshot):
    base = login("jdoe", "pw-jdoe")
    page.goto(f"{base}/records/prices/")
    expect(page.locator(".pager-count")).to_have_text("1–50 of 78")
    page.get_by_role("link", name="Next ›").click()
    expect(page.locator(".pager-count")).to_have_text("51–78 of 78")

    page.get_by_label("Instrument").fill("sap")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#prices tbody tr")).to_have_count(5)
    expect(page.locator(".pager-count")).to_have_text("1–5 of 5")
    screenshot("prices-filtered")
