"""The trade blotter, a trade's detail and the inventory, with a realistic book, as an operator sees them."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from records.trades import services as svc
from records.trades.models import Trade
from tests.conftest import make_user
from tests.data import trading_days_before

pytestmark = pytest.mark.browser

# account, instrument symbol, counterparty: what the demo book's desks trade.
FLOWS = [
    ("HOUSE", "AAPL", "GSCO"), ("HOUSE", "MSFT", "MSCO"), ("HOUSE", "SPY", "NSCC"), ("HOUSE-EU", "SAP", "BARC"),
    ("HOUSE-EU", "ASML", "BARC"), ("C-100231", "NVDA", "GSCO"), ("C-100231", "AMZN", "JEFF"),
    ("C-100245", "IBM", "MSCO"), ("C-100245", "JPM", "GSCO"), ("C-100402", "SIE", "BARC"),
    ("C-100402", "VOD", "LCH"), ("HOUSE", "T 4.5 11/33", "JEFF"),
]


@pytest.fixture
def trades(demo_book):
    """70 trades over the last five weekdays (one amended, one held, one cancelled, two settled)."""
    oms = make_user("oms-desk", "front_office")
    days = trading_days_before(timezone.localdate() - timedelta(days=1), 5)[::-1]
    instruments = demo_book["instruments"]
    items = []
    for n in range(70):
        account, symbol, counterparty = FLOWS[n % len(FLOWS)]
        instrument = instruments[symbol]
        price = instrument.prices.order_by("-price_date").first().price
        items.append((n, svc.TradeInput(
            external_ref=f"OMS-{240000 + n}", account=account, counterparty=counterparty, instrument=instrument.isin,
            side="SELL" if n % 4 == 1 else "BUY", quantity=Decimal(100 * (1 + n % 7)), price=price,
            trade_date=days[n * len(days) // 70], commission=Decimal("4.95"))))
    results = svc.trade_submit_batch(submitted_by=oms, items=items)
    ids = [results[n].trade_id for n in range(70)]
    assert None not in ids, results
    svc.trade_amend(actor=oms, trade_id=ids[5], changes={"price": Decimal("132.10")},
                    reason="Average price per the execution report")
    svc.trade_cancel(actor=oms, trade_id=ids[8], reason="Booked to the wrong account")
    Trade.objects.filter(pk__in=ids[:2]).update(status="SETTLED", match_status="MATCHED")
    held = svc.trade_submit(submitted_by=oms, item=svc.TradeInput(
        external_ref="OMS-249999", account="HOUSE", counterparty="GSCO", instrument=instruments["SPY"].isin,
        side="BUY", quantity=Decimal("100000"), price=Decimal("571.44"), trade_date=days[-1]))
    assert held.trade.status == "HELD"
    return ids


def test_blotter_filter_detail_and_inventory(page, trades, operator, login, screenshot):
    login("jdoe", "pw-jdoe")
    page.get_by_role("navigation").get_by_role("link", name="Blotter").click()
    expect(page.locator(".sidenav a.active")).to_have_text("Blotter")
    expect(page.locator("#trades tbody tr")).to_have_count(50)
    expect(page.locator("[data-total=count]")).to_have_text("71 matching trades")
    screenshot("blotter")

    page.get_by_role("link", name="Older ›").click()
    expect(page.locator("#trades tbody tr")).to_have_count(21)
    page.get_by_role("link", name="‹ Newer").click()
    expect(page.locator("#trades tbody tr")).to_have_count(50)

    page.get_by_label("Account").fill("c-100231")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#trades tbody tr")).to_have_count(12)
    expect(page.locator("#trades tbody tr td:nth-child(5)")).to_have_text(["C-100231"] * 12)
    expect(page.locator("[data-total=count]")).to_have_text("12 matching trades")
    expect(page.locator("#export-csv")).to_have_attribute("href", "/records/trades/export.csv?account=c-100231")
    screenshot("blotter-account")

    amended_ref = "OMS-240005"
    page.locator("#trades tbody tr", has_text=amended_ref).locator("td").nth(2).click()  # the row opens the trade
    expect(page).to_have_url(re.compile(rf"/records/trades/{trades[5]}/$"))
    expect(page.locator("h1")).to_contain_text(amended_ref)
    expect(page.locator(".timeline li")).to_have_count(2)
    expect(page.locator("#trade-versions tbody tr")).to_have_count(2)
    expect(page.locator("#trade-versions td.changed")).to_have_text(["132.10"])
    screenshot("trade-detail")

    page.get_by_role("link", name="Inventory of C-100231").click()
    expect(page.locator(".sidenav a.active")).to_have_text("Inventory")
    expect(page.locator("#id_account")).to_have_value("C-100231")
    expect(page.locator("#inventory tbody tr")).to_have_count(2)  # NVDA and AMZN
    expect(page.locator("#inventory tfoot")).to_contain_text("USD")
    screenshot("inventory")

    page.get_by_role("navigation").get_by_role("link", name="Blotter").click()
    page.get_by_label("Status").select_option("HELD")  # a drop-down applies at once
    expect(page.locator("#trades tbody tr")).to_have_count(1)
    page.locator("#trades tbody tr a").first.click()
    expect(page.locator("#hold-reasons")).to_contain_text("exceeds the limit")
    screenshot("trade-detail-held")


def test_release_amend_and_cancel_from_the_trade_page(page, trades, operator, login, screenshot):
    """An operations user proposes releasing the held trade, a compliance officer approves it, and the
    operations user amends (a refusal first, shown on the form) and cancels booked trades, each after a
    confirmation."""
    make_user("checker", "compliance")
    held = Trade.objects.get(external_ref="OMS-249999")
    base = login("jdoe", "pw-jdoe")
    questions = []
    page.on("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))

    page.goto(f"{base}/records/trades/{held.pk}/")
    release = page.locator("#release-form")
    release.get_by_label("Reason").fill("Limit raised for the index rebalance")
    release.get_by_role("button", name="Propose release").click()
    expect(page.locator(".messages")).to_contain_text(f"Release of trade {held.pk} proposed as change #")
    expect(page.locator("#hold-reasons")).to_contain_text("awaiting approval")
    expect(page.locator("#release-form")).to_have_count(0)
    assert questions == ["Propose releasing this held trade? It is booked once another user approves."]
    screenshot("trade-release-proposed")

    page.context.clear_cookies()
    login("checker", "pw-checker")
    page.goto(f"{base}/records/approvals/")
    page.get_by_role("button", name="Approve").click()
    expect(page.locator(".messages")).to_contain_text("approved and applied")
    page.goto(f"{base}/records/trades/{held.pk}/")
    expect(page.locator("#trade-fields .pill").first).to_have_text("Booked")

    page.context.clear_cookies()
    login("jdoe", "pw-jdoe")
    booked = trades[10]
    page.goto(f"{base}/records/trades/{booked}/")
    amend = page.locator("#amend-form")
    amend.get_by_label("Quantity").fill("12.5x")
    amend.get_by_label("Reason").fill("Fill corrected")
    amend.get_by_role("button", name="Amend").click()
    expect(page.locator("#amend-form .field-error")).to_have_text(["A valid number is required."])
    screenshot("trade-amend-refused")
    page.locator("#amend-form").get_by_label("Quantity").fill("250")
    page.locator("#amend-form").get_by_role("button", name="Amend").click()
    expect(page.locator(".messages")).to_contain_text(f"Trade {booked} amended: now version 2.")
    expect(page.locator("#trade-versions tbody tr")).to_have_count(2)
    expect(page.locator("#trade-versions td.changed")).to_have_text(["250"])

    cancel = page.locator("#cancel-form")
    cancel.get_by_label("Reason").fill("Booked to the wrong account")
    cancel.get_by_role("button", name="Cancel trade").click()
    expect(page.locator(".messages")).to_contain_text(f"Trade {booked} cancelled.")
    expect(page.locator("#trade-fields .pill").first).to_have_text("Cancelled")
    expect(page.locator("#work-trade")).to_have_count(0)
    assert Trade.objects.get(pk=booked).status == "CANCELLED"
    assert questions[-1] == "Cancel this trade? This cannot be undone."
    screenshot("trade-cancelled")


@pytest.mark.parametrize("path", ["/records/trades/", "/records/trades/{held}/"])
def test_wide_tables_scroll_inside_the_page_on_a_narrow_screen(page, trades, operator, login, screenshot, path):
    page.set_viewport_size({"width": 700, "height": 900})
    base = login("jdoe", "pw-jdoe")
    page.goto(base + path.format(held=Trade.objects.get(external_ref="OMS-249999").pk))
    assert page.evaluate("document.documentElement.scrollWidth") <= 700
    scrolled = page.evaluate("""() => Array.from(document.querySelectorAll('table.grid')).map(
        table => table.parentElement.scrollWidth > table.parentElement.clientWidth)""")
    assert any(scrolled), scrolled
    screenshot("narrow" + path.replace("/", "-").replace("{held}", "trade").rstrip("-"))
