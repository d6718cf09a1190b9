"""Settlement fails in a browser, as an operations clerk works them: the fails page (figures, aging and
counterparty charts, penalties, Reg SHO close-outs, the table), narrowing to an age bucket, one fail with its
penalties day by day, setting its Reg SHO basis, accruing a day's penalties.

Screenshots: test-artifacts/screenshots/settlement-fails.png, settlement-fails-bucket.png, settlement-fail.png,
settlement-fail-short.png.
"""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from playwright.sync_api import expect

from records.trades import services as trades
from settlements.fails import services as fails
from settlements.models import SettlementFail, SettlementInstruction
from tests.conftest import make_user
from tests.data import trading_days_before

pytestmark = pytest.mark.browser

# trading days back, account, counterparty, symbol, side, quantity, price, cause: a fortnight of fails.
FAILS = [
    (0, "HOUSE", "GSCO", "AAPL", "SELL", "1200", "189.25", "SECURITIES"),
    (0, "C-100231", "JEFF", "NVDA", "BUY", "2500", "131.38", "CASH"),
    (1, "HOUSE", "MSCO", "MSFT", "SELL", "450", "415.20", "SECURITIES"),
    (1, "HOUSE-EU", "BARC", "SAP", "BUY", "800", "187.36", "COUNTERPARTY"),
    (2, "C-100245", "GSCO", "JPM", "SELL", "800", "212.02", "SECURITIES"),
    (3, "HOUSE", "JEFF", "IBM", "BUY", "2000", "224.75", "COUNTERPARTY"),
    (4, "C-100402", "BARC", "VOD", "SELL", "125000", "0.7126", "SECURITIES"),
    (6, "HOUSE", "GSCO", "SPY", "SELL", "100", "571.44", "SECURITIES"),
    (8, "HOUSE-EU", "BARC", "ASML", "SELL", "250", "642.30", "SECURITIES"),
    (9, "C-100231", "MSCO", "AMZN", "BUY", "400", "186.40", "CASH"),
    (13, "HOUSE", "JEFF", "T 4.5 11/33", "SELL", "1000000", "99.8125", "SECURITIES"),
    (13, "HOUSE", "GSCO", "AAPL", "SELL", "300", "188.90", "SECURITIES"),
]


@pytest.fixture
def fails_book(demo_book):
    """The fails above, booked, instructed and failed on their settlement dates, their penalties accrued up to
    yesterday and their Reg SHO deadlines set."""
    today = timezone.localdate()
    days = trading_days_before(today - timedelta(days=1), 20)
    oms = make_user("demo-oms", "front_office")
    items = [(n, trades.TradeInput(
        external_ref=f"FAIL-{n:03d}", account=account, counterparty=counterparty,
        instrument=demo_book["instruments"][symbol].isin, side=side, quantity=Decimal(quantity),
        price=Decimal(price), trade_date=days[back + 1]))
        for n, (back, account, counterparty, symbol, side, quantity, price, _cause) in enumerate(FAILS)]
    with transaction.atomic():
        results = trades.trade_submit_batch(submitted_by=oms, items=items)
    now = timezone.now()
    earliest = today
    for n, (*_rest, cause) in enumerate(FAILS):
        trade = trades.Trade.objects.get(pk=results[n].trade_id)
        value = (trade.quantity * trade.price).quantize(Decimal("0.0001"))
        instruction = SettlementInstruction.objects.create(
            trade=trade, account=trade.account, counterparty=trade.counterparty, instrument=trade.instrument,
            settlement_date=trade.settlement_date, direction="DELIVER" if trade.side == "SELL" else "RECEIVE",
            payment="APMT", quantity=trade.quantity, cash_amount=value if trade.side == "SELL" else -value,
            currency=trade.currency, allow_partial=True, status="FAILED", created_at=now, updated_at=now)
        SettlementFail.objects.create(instruction=instruction, kind=instruction.direction, cause=cause,
                                      failed_on=trade.settlement_date, unsettled_quantity=trade.quantity,
                                      created_at=now, updated_at=now)
        earliest = min(earliest, trade.settlement_date)
    day = earliest
    while day < today:
        if fails.settling_markets(day):
            with transaction.atomic():
                fails.fail_regsho_fill(as_of=day, actor="beat")
                fails.fail_penalties_accrue(penalty_date=day, actor="beat")
        day += timedelta(days=1)
    return {"today": today, "yesterday": fails.previous_penalty_day(today)}


def test_a_clerk_reads_the_fails_narrows_them_and_works_one(page, operator, login, screenshot, fails_book):
    base = login("jdoe", "pw-jdoe")
    page.goto(f"{base}/settlements/fails/")

    expect(page.locator("h1")).to_have_text("Fails")
    expect(page.locator('[data-figure="open-fails"]')).to_have_text(str(len(FAILS)))
    expect(page.locator("#fail-table tbody tr")).to_have_count(len(FAILS))
    expect(page.locator("#chart-buckets g.bar-row")).to_have_count(5)
    expect(page.locator("#chart-counterparties g.bar-row")).to_have_count(4)
    expect(page.locator("#penalty-summary tbody tr")).to_have_count(3)  # EUR, GBP, USD
    expect(page.locator("#close-out-table tbody tr.deadline-overdue").first).to_be_visible()
    screenshot("settlement-fails")

    page.locator("#buckets a", has_text=">10").click()
    expect(page.locator("#fail-table tbody tr").first).to_contain_text("T 4.5 11/33")
    expect(page.locator("#fail-table tbody tr")).to_have_count(2)
    page.evaluate("window.scrollTo(0, 0)")  # the link jumps to the table: the full page from its top
    screenshot("settlement-fails-bucket")

    oldest = SettlementFail.objects.get(instruction__instrument__symbol="AAPL", unsettled_quantity=300)
    page.locator(f'#fail-table a[href^="/settlements/fails/{oldest.pk}/"]').click()
    expect(page.locator("h1")).to_contain_text(f"Fail {oldest.pk}")
    expect(page.locator("#penalty-days tbody tr").first).to_contain_text("1 bp")
    expect(page.locator("#deadline-banner")).to_contain_text("Reg SHO close-out overdue")
    screenshot("settlement-fail")

    page.get_by_label("Reg SHO basis").select_option("SHORT")
    page.get_by_label("Reason").fill("short sale: locate L-2291 from the stock loan desk")
    page.get_by_role("button", name="Set basis").click()
    expect(page.locator(".messages")).to_contain_text(f"Reg SHO basis of fail {oldest.pk}: Short sale")
    oldest.refresh_from_db()
    assert oldest.regsho_basis == "SHORT"
    screenshot("settlement-fail-short")

    page.get_by_role("link", name="Fails", exact=True).first.click()
    page.get_by_label("Day to accrue").fill(fails_book["yesterday"].isoformat())
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Accrue penalties").click()
    expect(page.locator(".messages")).to_contain_text(
        f"Penalties of {fails_book['yesterday']:%Y-%m-%d} queued as job")


def test_a_quiet_day_says_so_in_each_table(page, operator, login, screenshot, demo_book):
    base = login("jdoe", "pw-jdoe")
    page.goto(f"{base}/settlements/fails/?as_of={date(2026, 1, 5).isoformat()}")
    expect(page.locator("#fail-table td.empty")).to_contain_text("No fails open on 2026-01-05")
    expect(page.locator("#close-out-table td.empty")).to_be_visible()
    expect(page.locator("#penalty-summary td.empty")).to_be_visible()
    screenshot("settlement-fails-empty")
