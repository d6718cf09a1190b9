"""The surveillance page in a browser, as a compliance officer runs it on demand: a run of yesterday's trades
raises the wash trade it finds; a rerun of the same date finds it again and raises nothing new.

Screenshots: test-artifacts/screenshots/compliance-surveillance-empty.png, compliance-surveillance.png.
"""

from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from playwright.sync_api import expect

from compliance.alerts.models import Alert
from records.trades import services as trades
from tests.conftest import make_user
from tests.data import trading_days_before

pytestmark = pytest.mark.browser


@pytest.fixture
def washed(demo_book):
    """The demo book with a client buying and selling the same shares at nearly the same price, a day ago."""
    day = trading_days_before(timezone.localdate(), 2)[-1]
    oms = make_user("surv-oms", "front_office")
    isin = demo_book["instruments"]["AAPL"].isin
    items = [(n, trades.TradeInput(external_ref=f"SURV-{n}", account="C-100231", counterparty="GSCO", instrument=isin,
                                   side=side, quantity=Decimal("5000"), price=Decimal(px), trade_date=day))
             for n, (side, px) in enumerate([("BUY", "190.10"), ("SELL", "190.25")])]
    with transaction.atomic():
        trades.trade_submit_batch(submitted_by=oms, items=items)
    return day


def test_an_officer_runs_the_surveillance_and_reruns_it(page, login, washed, screenshot):
    make_user("officer", "compliance")
    login("officer", "pw-officer")
    page.get_by_role("navigation").get_by_role("link", name="Surveillance", exact=True).click()
    expect(page.locator("h1")).to_contain_text("Surveillance")
    expect(page.locator("#runs")).to_contain_text("No surveillance run yet")
    screenshot("compliance-surveillance-empty")

    for _ in range(2):
        page.locator("#run-trade_date").fill(washed.isoformat())
        page.get_by_role("button", name="Run surveillance").click()
        expect(page.locator(".msg, .messages").first).to_contain_text("is queued")
    rows = page.locator("#runs tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(1)).to_contain_text("Completed")
    # The first run raised the wash trade; the rerun (the top row) found it already raised.
    expect(rows.nth(1).locator("td").nth(3)).to_have_text("1")
    expect(rows.nth(0).locator("td").nth(3)).to_contain_text("0 · 1")
    expect(page.locator("#latest-scenarios")).to_contain_text("Wash trades")
    assert Alert.objects.filter(kind="WASH_TRADE").count() == 1
    screenshot("compliance-surveillance")
