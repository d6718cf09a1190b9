"""Compliance in a browser, as an officer works the day: the alert queue (SLA breaches in red), a bulk
assignment, an alert's page with its evidence, escalated and then closed with a disposition, the daily
summary; then the other compliance pages that exist (rules, locates, penalty box, surveillance, restricted list).

Screenshots: test-artifacts/screenshots/compliance-alerts.png, compliance-alerts-assigned.png,
compliance-alert.png, compliance-alert-closed.png, compliance-summary.png, and compliance-<page>.png for each
other page found.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from playwright.sync_api import expect

from compliance.alerts.models import Alert
from compliance.alerts.services import AlertDraft, alerts_raise
from compliance.rules.models import ComplianceRule
from records.trades import services as trades
from records.trades.models import Trade, TradeEvent
from tests.conftest import make_user
from tests.data import trading_days_before

pytestmark = pytest.mark.browser

OTHER_PAGES = ["compliance:rules", "compliance:locates", "compliance:penalty-box", "compliance:surveillance",
               "compliance:restricted-list"]


@pytest.fixture
def alert_book(demo_book):
    """The demo book with a few trades and the alerts surveillance would raise on them: two wash trades (one past
    its SLA), a large trade near its SLA, a structuring pattern; one trade held."""
    day = trading_days_before(timezone.localdate(), 2)[-1]
    oms = make_user("desk-oms", "front_office")
    isin = demo_book["instruments"]["AAPL"].isin
    items = [(n, trades.TradeInput(external_ref=f"CMP-{n}", account="C-100231", counterparty="GSCO", instrument=isin,
                                   side=side, quantity=Decimal(qty), price=Decimal(px), trade_date=day))
             for n, (side, qty, px) in enumerate([("BUY", "5000", "190.10"), ("SELL", "5000", "190.25"),
                                                  ("BUY", "250000", "189.90"), ("BUY", "100", "191.00")])]
    with transaction.atomic():
        trades.trade_submit_batch(submitted_by=oms, items=items)
    booked = list(Trade.objects.filter(external_ref__startswith="CMP-").order_by("external_ref"))
    Trade.objects.filter(pk=booked[3].pk).update(status="HELD", hold_reasons=["Price 12% away from the last price"])
    # As the services do, the change of status has its lifecycle event (what finds held trades: trades_in_status).
    TradeEvent.objects.create(trade=booked[3], at=timezone.now(), actor_label="test", action="HOLD",
                              from_status="BOOKED", to_status="HELD")
    account, instrument = booked[0].account, booked[0].instrument
    wash, large, structuring = (ComplianceRule.objects.get(code=c) for c in ("wash-trades", "large-trade",
                                                                             "structuring"))

    def trade_record(t):
        return {"type": "TRADE", "id": t.pk, "label": f"{t.side} {t.quantity:,.0f} {instrument.symbol} @ {t.price:.2f}"}

    drafts = [
        AlertDraft(rule=wash, subject_type="TRADE", subject_id=booked[0].pk, dedupe_key=f"wash:{booked[0].pk}",
                   business_date=day, account_id=account.pk, instrument_id=instrument.pk,
                   summary=f"C-100231 bought and sold 5,000 {instrument.symbol} within 0.08% the same day",
                   evidence={"records": [trade_record(booked[0]), trade_record(booked[1]),
                                         {"type": "ACCOUNT", "id": account.pk,
                                          "label": f"{account.code} {account.name}"}],
                             "figures": {"price_difference_pct": "0.08", "band_pct": "1", "quantity": "5000"}}),
        AlertDraft(rule=wash, subject_type="TRADE", subject_id=booked[2].pk, dedupe_key=f"wash:{booked[2].pk}",
                   business_date=day, account_id=account.pk, instrument_id=instrument.pk,
                   summary=f"C-100231 bought and sold {instrument.symbol} at prices 0.5% apart",
                   evidence={"records": [trade_record(booked[2])], "figures": {"price_difference_pct": "0.5"}}),
        AlertDraft(rule=large, subject_type="TRADE", subject_id=booked[2].pk, dedupe_key=f"large:{booked[2].pk}",
                   business_date=day, account_id=account.pk, instrument_id=instrument.pk,
                   summary=f"250,000 {instrument.symbol} is 41% of its 20-day average daily volume",
                   evidence={"records": [trade_record(booked[2])],
                             "figures": {"quantity": "250000", "adv": "609756", "pct_of_adv": "41.0"}}),
        AlertDraft(rule=structuring, subject_type="ACCOUNT", subject_id=account.pk, dedupe_key=f"struct:{account.pk}",
                   business_date=day, account_id=account.pk,
                   summary="4 deposits of 9,500–9,950 USD in 5 days (threshold 10,000)",
                   evidence={"records": [{"type": "ACCOUNT", "id": account.pk, "label": account.code}],
                             "figures": {"count": "4", "total": "38900", "threshold": "10000"}}),
    ]
    ids = alerts_raise(actor="job:surveillance", drafts=drafts)
    now = timezone.now()
    Alert.objects.filter(pk=ids[0]).update(opened_at=now - timedelta(hours=30), due_at=now - timedelta(hours=6))
    Alert.objects.filter(pk=ids[2]).update(opened_at=now - timedelta(hours=64), due_at=now + timedelta(hours=8))
    return {"alerts": ids, "trades": booked}


def test_an_officer_works_the_alert_queue(page, login, alert_book, screenshot):
    make_user("ccarter", "compliance")
    make_user("mlro", "compliance")
    base = login("ccarter", "pw-ccarter")
    first, _second, large, _structuring = alert_book["alerts"]

    page.get_by_role("navigation").get_by_role("link", name="Alerts", exact=True).click()
    expect(page.locator("h1")).to_have_text("Alerts")
    expect(page.locator(f"#alerts tr[data-alert='{first}']")).to_have_class("sla-breached")
    expect(page.locator(f"#alerts tr[data-alert='{large}']")).to_have_class("sla-near")
    expect(page.locator("#count-overdue .count-value")).to_have_text("1")
    screenshot("compliance-alerts")

    # bulk: tick everything, give it to the MLRO
    page.locator("#select-all").check()
    expect(page.locator("#bulk-selected")).to_have_text("4 selected")
    page.locator("#bulk-owner").select_option("mlro")
    page.get_by_role("button", name="Assign selected").click()
    expect(page.locator("ul.messages")).to_contain_text("4 alerts assigned to mlro")
    expect(page.locator(f"#alerts tr[data-alert='{first}'] td").last).to_have_text("Open")
    assert Alert.objects.filter(owner__username="mlro").count() == 4
    screenshot("compliance-alerts-assigned")

    # the breached wash trade: its page, its evidence, escalate, close
    page.locator(f"#alerts tr[data-alert='{first}'] td.num a").click()
    expect(page.locator("h1")).to_contain_text(f"Alert {first}")
    expect(page.locator("#sla-banner")).to_contain_text("SLA breached")
    evidence = page.locator("#evidence-records")
    expect(evidence.locator("a").first).to_have_attribute(
        "href", reverse("records:trade-detail", args=[alert_book["trades"][0].pk]))
    page.locator("#escalate-note").fill("Same beneficial owner on both sides, 0.08% apart: needs the MLRO.")
    page.get_by_role("button", name="Escalate").click()
    expect(page.locator("#alert-state")).to_have_text("Escalated")
    screenshot("compliance-alert")

    page.locator("#close-disposition").fill("Reviewed with the MLRO: client rebalancing between two mandates of "
                                            "the same owner; no change of beneficial ownership intended. No SAR.")
    page.get_by_role("button", name="Close alert").click()
    expect(page.locator("#alert-state")).to_have_text("Closed")
    expect(page.locator("#alert-disposition")).to_contain_text("No SAR.")
    expect(page.locator("ol.timeline li")).to_have_count(4)  # opened, assigned, escalated, closed
    screenshot("compliance-alert-closed")

    page.get_by_role("navigation").get_by_role("link", name="Daily summary", exact=True).click()
    expect(page.locator("#figure-closed .figure-value")).to_have_text("1")
    expect(page.locator("#figure-held .figure-value")).to_have_text("1")
    screenshot("compliance-summary")

    for name in OTHER_PAGES:
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue  # not built yet
        response = page.goto(base + url)
        assert response.status == 200, (name, response.status)
        expect(page.locator("h1")).not_to_be_empty()
        screenshot("compliance-" + name.split(":")[1])
