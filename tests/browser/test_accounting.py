"""The books in a browser, as an accountant reads them after the end of day: the trial balance in balance,
a GL account's ledger and the entry behind a line, P&L with its charts, the statements, the posting page
and a reconciliation without breaks.

Screenshots: test-artifacts/screenshots/accounting-trial-balance.png, accounting-ledger.png,
accounting-entry.png, accounting-pnl.png, accounting-statements.png, accounting-posting.png,
accounting-reconciliation.png.
"""

from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from playwright.sync_api import expect

from accounting.posting.kinds import EOD
from backoffice.core.jobs.services import job_create, job_run_execute
from records.trades import services as trades
from tests.conftest import make_user
from tests.data import trading_days_before

pytestmark = pytest.mark.browser

TRADES = [  # trading days back, account, counterparty, symbol, side, quantity, price
    (3, "HOUSE", "GSCO", "AAPL", "BUY", "1000", "185.10"),
    (2, "HOUSE", "GSCO", "AAPL", "SELL", "400", "191.25"),
    (2, "HOUSE-EU", "BARC", "SAP", "BUY", "800", "187.36"),
    (1, "C-100231", "JEFF", "MSFT", "BUY", "300", "415.20"),
    (1, "HOUSE-EU", "BARC", "SAP", "SELL", "300", "190.02"),
]


@pytest.fixture
def closed_books(demo_book):
    """The demo book with a few days of trades, closed by the accounting end of day as of yesterday."""
    days = trading_days_before(timezone.localdate(), 5)
    oms = make_user("books-oms", "front_office")
    items = [(n, trades.TradeInput(external_ref=f"BOOKS-{n}", account=account, counterparty=counterparty,
                                   instrument=demo_book["instruments"][symbol].isin, side=side,
                                   quantity=Decimal(quantity), price=Decimal(price), trade_date=days[-1 - back]))
             for n, (back, account, counterparty, symbol, side, quantity, price) in enumerate(TRADES)]
    with transaction.atomic():
        trades.trade_submit_batch(submitted_by=oms, items=items)
        job = job_create(kind=EOD, params={"as_of": days[-1].isoformat()}, started_by="test")
    job = job_run_execute(job_id=job.pk)
    assert job.status == "COMPLETED", job.error
    return demo_book


def test_an_accountant_reads_the_books_after_the_end_of_day(page, login, closed_books, screenshot):
    make_user("acct", "accounting")
    base = login("acct", "pw-acct")

    page.get_by_role("navigation").get_by_role("link", name="Trial balance", exact=True).click()
    expect(page.get_by_text("In balance")).to_be_visible()
    screenshot("accounting-trial-balance")

    page.get_by_role("link", name="1300", exact=True).first.click()
    expect(page.locator("h1")).to_contain_text("Investments at cost")
    screenshot("accounting-ledger")
    page.locator("table.grid tbody a[href*='/accounting/journal-entries/']").first.click()
    expect(page.locator("h1")).to_contain_text("Journal entry")
    screenshot("accounting-entry")

    page.get_by_role("navigation").get_by_role("link", name="P&L", exact=True).click()
    expect(page.locator("svg.pnl-chart").first).to_be_visible()
    screenshot("accounting-pnl")

    page.get_by_role("navigation").get_by_role("link", name="Statements", exact=True).click()
    expect(page.get_by_text("equal to assets")).to_be_visible()
    screenshot("accounting-statements")

    page.get_by_role("navigation").get_by_role("link", name="Posting", exact=True).click()
    expect(page.locator("#posting-rules")).to_contain_text("TRADE_SELL")
    screenshot("accounting-posting")

    page.goto(f"{base}/accounting/reconciliation/")
    expect(page.get_by_text("0 breaks")).to_be_visible()
    screenshot("accounting-reconciliation")
