"""A blotter filtered by status, now that no index of the trades names status (netting and settlement change it on
every trade: HOT updates). A rare status is found through the lifecycle events that moved trades into it; held to the
plain filter on the trades, status by status, page and count, on the blotter, its API and the home dashboard."""

from decimal import Decimal as D

import pytest
from django.db import transaction

from records import summary
from records.trades import selectors
from records.trades import services as svc
from records.trades.models import Trade
from records.trades.settlement import TradeSettlement, trades_settle
from tests.conftest import APPLE
from tests.records.helpers_trades import book_trades

pytestmark = pytest.mark.django_db


@pytest.fixture
def every_status(blotter, oms):
    """The blotter's six trades, plus trades moved through each status by the services that change it."""
    day = blotter.d1
    ids = book_trades(oms, [(f"ST-{n}", "ACC-001", "BRKR-A", APPLE, "BUY", "100", "190", day, "0") for n in range(6)]
                      + [(f"HOLD-{n}", "ACC-001", "BRKR-A", APPLE, "BUY", "300000", "190", day, "0")
                         for n in range(3)])
    svc.trade_reject(actor=oms, trade_id=ids["HOLD-0"], reason="Fat finger")
    svc.trade_release(actor=oms, trade_id=ids["HOLD-1"], reason="Checked with the desk")
    svc.trade_cancel(actor=oms, trade_id=ids["ST-5"], reason="Booked twice")
    cleared = [ids[f"ST-{n}"] for n in range(4)]
    Trade.objects.filter(pk__in=cleared).update(status="CLEARED")  # netting's move, without its obligation
    with transaction.atomic():
        trades_settle([
            TradeSettlement(cleared[0], "CLEARED", D(0), "FAILED", D(0), "fail"),
            TradeSettlement(cleared[1], "CLEARED", D(0), "PARTIALLY_SETTLED", D(40), "partial"),
            TradeSettlement(cleared[2], "CLEARED", D(0), "FAILED", D(0), "fail"),
        ], actor=oms, reason="settlement run")
        # A fail settled on a later day: no longer FAILED, although an event once moved it there.
        trades_settle([TradeSettlement(cleared[2], "FAILED", D(0), "SETTLED", D(100), "settled")],
                      actor=oms, reason="settlement run")
    return ids


def _plain(status):
    return list(Trade.objects.filter(status=status).order_by("-id").values_list("id", flat=True))


@pytest.mark.parametrize("status", Trade.Status.values)
def test_the_blotter_by_status_is_the_trades_in_that_status(every_status, status):
    assert list(selectors.trade_blotter(status=status).values_list("id", flat=True)) == _plain(status)
    totals = selectors.trade_blotter_totals(selectors.trade_blotter(status=status))
    assert totals.count == len(_plain(status))


def test_every_status_the_fixture_reaches_is_there(every_status):
    counts = {status: len(_plain(status)) for status in Trade.Status.values}
    assert counts == {"NEW": 0, "BOOKED": 5, "REJECTED": 1, "HELD": 2, "CLEARED": 1, "SETTLED": 2,
                      "PARTIALLY_SETTLED": 1, "FAILED": 1, "CANCELLED": 2}


@pytest.mark.parametrize("status", ["HELD", "FAILED", "SETTLED", "CANCELLED"])
def test_the_api_filters_by_status_as_the_blotter(every_status, ops_client, status):
    response = ops_client.get("/api/v1/trades/", {"status": status, "page_size": 100})
    assert response.status_code == 200
    body = response.json()
    rows = body["results"] if isinstance(body, dict) else body
    assert [row["id"] for row in rows] == _plain(status)


def test_the_home_dashboard_counts_the_held_trades(every_status):
    assert summary._trade_figures(today=Trade.objects.first().trade_date)["trades_held"] == 2


def test_a_rare_status_is_read_through_the_events_index_not_the_whole_blotter():
    sql = str(selectors.trade_blotter(status="HELD").query)
    assert "records_tradeevent" in sql and "to_status" in sql
    assert "records_tradeevent" not in str(selectors.trade_blotter(status="SETTLED").query)
    assert set(Trade.RARE_STATUSES) == {"NEW", "HELD", "REJECTED", "CANCELLED", "PARTIALLY_SETTLED", "FAILED"}


@pytest.mark.parametrize("status", ["HELD", "REJECTED", "SETTLED"])
def test_the_admin_filters_by_status_as_the_blotter(every_status, rf, status):
    from django.contrib import admin as django_admin

    from records.trades.admin import TradeStatusFilter

    model_admin = django_admin.site._registry[Trade]
    request = rf.get("/", {"status__exact": status})
    chosen = TradeStatusFilter(request, {"status__exact": [status]}, Trade, model_admin)
    assert list(chosen.queryset(request, Trade.objects.order_by("-id")).values_list("id", flat=True)) == _plain(status)


def test_the_compliance_daily_summary_lists_the_held_trades(every_status):
    from compliance.alerts.selectors import daily_summary

    held = daily_summary(day=Trade.objects.first().trade_date)
    assert held.held_count == 2
    assert sorted(t.pk for t in held.held_trades) == sorted(_plain("HELD"))
