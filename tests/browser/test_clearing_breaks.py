"""The breaks queue in a browser: an operations clerk works two breaks from their pages.

One confirmation disagrees with our trade on the quantity: the clerk compares the two field by field
and proposes a force-match, which a second operations user approves. The other names no trade of
ours: the clerk asks the counterparty for a new one. Screenshots: breaks, break-detail,
break-proposed, break-matched, breaks-empty.
"""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from clearing.matching.services import confirmations as confirmation_services
from clearing.models import Confirmation
from records.trades import services as svc
from records.trades.models import Trade
from tests.conftest import make_user
from tests.data import trading_days_before

pytestmark = pytest.mark.browser


@pytest.fixture
def breaks(demo_book):
    """Three trades with Goldman (GSCO); confirmations: one matching, one short by 50 shares, one for a trade we
    never booked. Returns (the short one, the stray one, the trade the short one is compared with)."""
    oms = make_user("oms-desk", "front_office")
    broker = make_user("gsco-feed", "front_office")
    day = trading_days_before(timezone.localdate() - timedelta(days=1), 1)[0]
    instruments = demo_book["instruments"]

    def trade(ref, account, symbol, quantity, side="BUY"):
        instrument = instruments[symbol]
        price = instrument.prices.order_by("-price_date").first().price
        result = svc.trade_submit(submitted_by=oms, item=svc.TradeInput(
            external_ref=ref, account=account, counterparty="GSCO", instrument=instrument.isin, side=side,
            quantity=Decimal(quantity), price=price, trade_date=day))
        return Trade.objects.get(pk=result.trade_id)

    def confirm(ref, trade_, **changes):
        terms = {"counterparty": "GSCO", "counterparty_ref": ref, "account": trade_.account.code,
                 "instrument": trade_.instrument.isin, "side": "SELL" if trade_.side == "BUY" else "BUY",
                 "quantity": trade_.quantity, "price": trade_.price, "trade_date": trade_.trade_date,
                 "settlement_date": trade_.settlement_date, **changes}
        result = confirmation_services.confirmation_submit(
            submitted_by=broker, item=confirmation_services.ConfirmationInput(**terms))
        return Confirmation.objects.get(pk=result.confirmation_id)

    matched = trade("OMS-310001", "HOUSE", "MSFT", "300")
    confirm("GS-778810", matched)
    short = trade("OMS-310002", "HOUSE", "AAPL", "500")
    mismatched = confirm("GS-778812", short, quantity=Decimal("450"))
    stray_trade = trade("OMS-310003", "C-100231", "NVDA", "200")
    stray = confirm("GS-778815", stray_trade, account="C-100245", instrument=instruments["IBM"].isin,
                    price=Decimal("224.75"))
    Confirmation.objects.filter(pk=stray.pk).update(received_at=timezone.now() - timedelta(days=3))
    assert (mismatched.match_status, stray.match_status) == ("MISMATCHED", "UNMATCHED")
    return mismatched, stray, short


def test_a_clerk_resolves_breaks_from_their_pages(page, breaks, operator, login, screenshot):
    mismatched, stray, trade = breaks
    make_user("checker", "operations")
    page.on("dialog", lambda dialog: dialog.accept())
    base = login("jdoe", "pw-jdoe")

    page.get_by_role("navigation").get_by_role("link", name="Breaks").click()
    expect(page.locator(".sidenav a.active")).to_have_text("Breaks")
    rows = page.locator("#breaks tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("GS-778815")  # the oldest first
    expect(rows.nth(0).locator("td").nth(0)).to_have_text("3")
    expect(rows.nth(1)).to_contain_text("quantity")
    expect(page.locator("[data-total=count]")).to_have_text("2 open breaks")
    screenshot("breaks")

    rows.nth(1).get_by_role("link", name="Resolve").click()
    expect(page).to_have_url(re.compile(rf"/clearing/breaks/{mismatched.pk}/$"))
    expect(page.locator("#compare tr.differs")).to_have_count(1)
    expect(page.locator("#compare tr.differs")).to_contain_text("500")
    expect(page.locator("#compare tr.differs")).to_contain_text("450")
    expect(page.locator("#compare tr[data-field=side] td.verdict")).to_contain_text("agrees")
    screenshot("break-detail")

    form = page.locator("#force-match-form")
    expect(form.get_by_label("Trade", exact=True)).to_have_value(str(trade.pk))
    form.get_by_label("Reason").fill("GS confirmed 500 by phone; their file is short a fill")
    form.get_by_role("button", name="Propose force-match").click()
    expect(page.locator(".msg-success")).to_contain_text("proposed as change")
    expect(page.locator("#pending-force-match")).to_contain_text("by jdoe")
    screenshot("break-proposed")

    page.get_by_role("button", name="Log out").click()
    login("checker", "pw-checker")
    page.goto(f"{base}/records/approvals/")
    expect(page.locator(".change-card")).to_have_count(1)
    expect(page.locator(".change-card")).to_contain_text("despite quantity ours 500, theirs 450")
    page.locator(".change-card").get_by_role("button", name="Approve").click()
    expect(page.locator(".msg-success")).to_contain_text("approved and applied")

    page.goto(f"{base}/clearing/breaks/{mismatched.pk}/")
    expect(page.locator(".page-meta .pill")).to_have_text("Matched")
    expect(page.locator("#resolution")).to_contain_text("Force-matched by checker")
    screenshot("break-matched")

    page.get_by_role("button", name="Log out").click()
    login("jdoe", "pw-jdoe")
    page.goto(f"{base}/clearing/breaks/")
    page.locator("#breaks tbody tr", has_text="GS-778815").get_by_role("link", name="Resolve").click()
    expect(page.locator("#compare thead")).to_contain_text("none found")
    renew = page.locator("#request-new-form")
    renew.get_by_label("Reason").fill("No such trade with Goldman: asked GS ops to check the account")
    renew.get_by_role("button", name="Request new").click()
    expect(page.locator(".msg-success")).to_contain_text("a new confirmation requested")
    expect(page.locator("#breaks tbody td.empty")).to_have_text(
        "No breaks: every confirmation received has matched a trade or been resolved.")
    screenshot("breaks-empty")

    page.get_by_role("link", name="All confirmations").click()
    expect(page.locator("#confirmations tbody tr")).to_have_count(3)
    expect(page.locator("[data-total=REJECTED]")).to_contain_text("1")
    screenshot("confirmations")

    page.get_by_role("link", name="Upload CSV").click()
    isin, dates = trade.instrument.isin, f"{trade.trade_date},{trade.settlement_date}"
    csv = ("counterparty,counterparty_ref,account,instrument,side,quantity,price,trade_date,settlement_date\n"
           f"GSCO,GS-778816,C-100231,{isin},SELL,200,131.38,{dates}\n"
           f"GSCO,GS-778817,HOUSE,{isin},SELL,1e2,abc,{dates}\n")
    page.get_by_label("CSV file").set_input_files(files=[{"name": "gsco-2026-12.csv", "mimeType": "text/csv",
                                                          "buffer": csv.encode()}])
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("#upload-results tbody tr")).to_have_count(2)
    expect(page.locator("#upload-results tbody tr").nth(1)).to_contain_text("price: A valid number is required.")
    screenshot("confirmation-upload")

    stray.refresh_from_db()
    assert (stray.match_status, stray.resolution, stray.resolved_by.username) == ("REJECTED", "NEW_REQUESTED", "jdoe")
    assert Trade.objects.get(pk=trade.pk).match_status == "MATCHED"
