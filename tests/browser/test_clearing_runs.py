"""Clearing runs in a browser, as an operations clerk works them: run netting for a date, read the run, its
obligations and one obligation's trades; a running run's progress moves without a reload.

Screenshots: test-artifacts/screenshots/clearing-runs.png, clearing-run.png, clearing-obligations.png,
clearing-obligation.png, clearing-runs-running.png.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from playwright.sync_api import expect

from backoffice.core.jobs.models import JobRun
from clearing.models import ClearingRun, Obligation
from records.trades import services as trades
from records.trades.models import Trade
from tests.clearing.helpers_netting import netting_alone  # noqa: F401 - autouse: netting's own steps
from tests.data import trading_days_before

pytestmark = pytest.mark.browser

# account, counterparty, symbol, side, quantity, price: a day of a small firm's flow.
FLOW = [
    ("HOUSE", "GSCO", "AAPL", "BUY", "1200", "189.25"), ("HOUSE", "MSCO", "AAPL", "SELL", "700", "189.40"),
    ("HOUSE", "NSCC", "AAPL", "BUY", "300", "189.10"), ("HOUSE", "GSCO", "MSFT", "SELL", "450", "415.20"),
    ("HOUSE", "NSCC", "MSFT", "BUY", "150", "415.05"), ("HOUSE", "JEFF", "IBM", "BUY", "2000", "224.75"),
    ("HOUSE", "JEFF", "IBM", "SELL", "500", "225.10"), ("C-100231", "GSCO", "NVDA", "BUY", "2500", "131.38"),
    ("C-100231", "MSCO", "NVDA", "SELL", "1000", "131.90"), ("C-100231", "NSCC", "AMZN", "BUY", "400", "186.40"),
    ("C-100245", "GSCO", "JPM", "BUY", "800", "212.02"), ("C-100245", "MSCO", "JPM", "BUY", "200", "212.30"),
    ("C-100245", "JEFF", "SPY", "SELL", "100", "571.44"), ("HOUSE", "GSCO", "AAPL", "BUY", "50", "189.33"),
    ("HOUSE", "JEFF", "MSFT", "BUY", "75", "415.60"),  # not matched yet: left for a later run
]


@pytest.fixture
def booked_day(demo_book):
    """The flow above, booked through capture on the last trading day before today, every trade matched but one."""
    trade_date = trading_days_before(timezone.localdate() - timedelta(days=1), 1)[0]
    items = [(n, trades.TradeInput(
        external_ref=f"OMS-{n:04d}", account=account, counterparty=counterparty,
        instrument=demo_book["instruments"][symbol].isin, side=side, quantity=Decimal(quantity),
        price=Decimal(price), trade_date=trade_date)) for n, (account, counterparty, symbol, side, quantity, price)
        in enumerate(FLOW)]
    from tests.conftest import make_user

    with transaction.atomic():
        results = trades.trade_submit_batch(submitted_by=make_user("demo-oms", "front_office"), items=items)
    ids = [results[n].trade_id for n, _ in items]
    assert all(results[n].status == trades.CREATED for n, _ in items), results
    Trade.objects.filter(pk__in=ids[:-1]).update(match_status=Trade.MatchStatus.MATCHED)
    return Trade.objects.get(pk=ids[0]).settlement_date


def test_a_clerk_runs_netting_and_drills_down_to_the_trades(page, operator, login, screenshot, booked_day):
    base = login("jdoe", "pw-jdoe")
    page.goto(f"{base}/clearing/runs/")
    expect(page.locator("#runs td.empty")).to_contain_text("No clearing runs yet")
    page.get_by_label("Date to net").fill(booked_day.isoformat())
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Run netting").click()

    run = ClearingRun.objects.get()
    expect(page.locator(".messages")).to_contain_text(
        f"Clearing run {run.pk} for {booked_day:%Y-%m-%d} queued as job {run.job_id}: its progress shows below.")
    row = page.locator(f'#runs tr[data-job-id="{run.job_id}"]')
    expect(row.locator(".pill")).to_have_text("Completed")
    run.refresh_from_db()
    assert (run.trades_netted, run.obligations_created) == (14, 7)
    expect(row.locator("td").nth(4)).to_have_text("14")
    expect(row.locator("td").nth(5)).to_have_text("7")
    screenshot("clearing-runs")

    row.get_by_role("link", name=str(run.pk), exact=True).click()
    expect(page.locator("h1")).to_contain_text(f"Clearing run {run.pk}")
    expect(page.locator("#currency-figures tbody tr")).to_have_count(1)
    expect(page.locator("#currency-figures tbody tr td").first).to_have_text("USD")
    screenshot("clearing-run")

    page.get_by_role("link", name="Its obligations").click()
    expect(page.locator("#obligations tbody tr")).to_have_count(7)
    novated = Obligation.objects.get(account__code="HOUSE", instrument__symbol="AAPL")
    assert (novated.counterparty.code, novated.net_quantity, novated.trade_count) == ("NSCC", 850, 4)
    screenshot("clearing-obligations")

    page.locator(f'#obligations a[href="/clearing/obligations/{novated.pk}/"]').first.click()
    expect(page.locator("#netted-trades tbody tr")).to_have_count(4)
    expect(page.locator("#obligation-fields")).to_contain_text("the account receives securities")
    screenshot("clearing-obligation")

    first_trade = page.locator("#netted-trades tbody tr").first.locator("a").first
    trade_id = first_trade.inner_text()
    first_trade.click()
    expect(page.locator("h1")).to_contain_text(f"Trade {trade_id}")
    expect(page.locator("#timeline")).to_contain_text("Cleared")


def test_a_running_runs_progress_moves_on_the_page_and_its_figures_appear_when_it_completes(
        page, operator, login, screenshot, booked_day):
    job = JobRun.objects.create(kind="clearing-netting", status=JobRun.Status.RUNNING, started_at=timezone.now(),
                                parameters={"settlement_date": booked_day.isoformat(), "instrument_bounds": []},
                                steps=[{"name": "net", "chunks": 3, "done": 1}, {"name": "summarize", "chunks": 1,
                                                                                  "done": 0}],
                                chunks_total=4, chunks_done=1, started_by_label="beat")
    run = ClearingRun.objects.create(settlement_date=booked_day, job=job)
    base = login("jdoe", "pw-jdoe")
    page.goto(f"{base}/clearing/runs/")
    row = page.locator(f'#runs tr[data-job-id="{job.pk}"]')
    expect(row.locator("[data-field=percent]")).to_have_text("25%")
    expect(row.locator(".pill")).to_have_text("Running")

    JobRun.objects.filter(pk=job.pk).update(chunks_done=3)
    expect(row.locator("[data-field=percent]")).to_have_text("75%")
    expect(row.locator("[data-field=chunks]")).to_have_text("3/4 chunks")
    screenshot("clearing-runs-running")

    ClearingRun.objects.filter(pk=run.pk).update(trades_netted=1234, obligations_created=56)
    JobRun.objects.filter(pk=job.pk).update(status=JobRun.Status.COMPLETED, chunks_done=4,
                                            finished_at=timezone.now())
    # The page reloads once the run is done, to show the figures its last step wrote.
    expect(row.locator(".pill")).to_have_text("Completed")
    expect(row.locator("td").nth(4)).to_have_text("1,234")
