"""Settlement runs in a browser, as an operations clerk works them: run settlement for a date, read the run, what
it moved and what is still open; a running run's progress moves without a reload.

Screenshots: test-artifacts/screenshots/settlement-runs.png, settlement-run.png, settlement-runs-running.png.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from playwright.sync_api import expect

from backoffice.core.jobs.models import JobRun
from backoffice.core.jobs.services import job_run_execute
from clearing.netting.services import clearing_run_create
from records.trades import services as trades
from records.trades.models import Trade
from settlements.models import SettlementInstruction, SettlementRun
from tests.data import trading_days_before
from tests.settlements.helpers_settlement import instruct, own_steps_only  # noqa: F401 - autouse: own steps only

pytestmark = pytest.mark.browser

# account, counterparty, symbol, side, quantity, price: a day of a small firm's flow, novated to NSCC or
# bilateral with Jefferies. C-100245 sells SPY it does not hold; C-100231 buys more NVDA than its cash covers.
FLOW = [
    ("HOUSE", "GSCO", "AAPL", "BUY", "1200", "189.25"), ("HOUSE", "MSCO", "AAPL", "SELL", "700", "189.40"),
    ("HOUSE", "GSCO", "MSFT", "SELL", "450", "415.20"), ("HOUSE", "JEFF", "IBM", "BUY", "2000", "224.75"),
    ("C-100231", "GSCO", "NVDA", "BUY", "2500", "131.38"), ("C-100231", "MSCO", "AMZN", "SELL", "400", "186.40"),
    ("C-100245", "GSCO", "JPM", "BUY", "800", "212.02"), ("C-100245", "JEFF", "SPY", "SELL", "100", "571.44"),
    ("C-100245", "JEFF", "IBM", "SELL", "300", "225.10"),
]


@pytest.fixture
def instructed_day(demo_book):
    """The flow above booked on the last trading day before yesterday, matched, netted and instructed."""
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
    Trade.objects.filter(pk__in=ids).update(match_status=Trade.MatchStatus.MATCHED)
    day = Trade.objects.get(pk=ids[0]).settlement_date
    with transaction.atomic():
        run = clearing_run_create(settlement_date=day, started_by="test")
    job_run_execute(job_id=run.job_id)
    instruct()
    return day


def test_a_clerk_runs_settlement_and_reads_what_moved_and_what_is_open(page, operator, login, screenshot,
                                                                         instructed_day):
    day = instructed_day
    base = login("jdoe", "pw-jdoe")
    page.goto(f"{base}/settlements/runs/")
    expect(page.locator("#runs td.empty")).to_contain_text("No settlement runs yet")
    page.get_by_label("Date to settle").fill(day.isoformat())
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Run settlement").click()

    run = SettlementRun.objects.get()
    expect(page.locator(".messages")).to_contain_text(
        f"Settlement run {run.pk} for {day:%Y-%m-%d} queued as job {run.job_id}: its progress shows below.")
    row = page.locator(f'#runs tr[data-job-id="{run.job_id}"]')
    expect(row.locator(".pill")).to_have_text("Completed")
    run.refresh_from_db()
    statuses = sorted(SettlementInstruction.objects.values_list("status", flat=True))
    assert (run.settled, run.partial, run.failed) == (statuses.count("SETTLED"), statuses.count("PARTIAL"),
                                                      statuses.count("FAILED"))
    assert run.failed + run.partial >= 2, statuses  # SPY not held, NVDA beyond the cash
    expect(row.locator("td").nth(4)).to_have_text(str(run.settled))
    screenshot("settlement-runs")

    row.get_by_role("link", name=str(run.pk), exact=True).click()
    expect(page.locator("h1")).to_contain_text(f"Settlement run {run.pk}")
    expect(page.locator("#currency-figures tbody tr td").first).to_have_text("USD")
    expect(page.locator("#movements tbody tr")).to_have_count(run.settled + run.partial)
    expect(page.locator("#open-instructions tbody tr")).to_have_count(run.partial + run.failed)
    expect(page.locator("#open-instructions")).to_contain_text("Lack of securities")
    screenshot("settlement-run")


def test_a_running_runs_progress_moves_on_the_page(page, operator, login, screenshot, demo_book):
    day = trading_days_before(timezone.localdate(), 1)[0]
    job = JobRun.objects.create(kind="settlement-run", status=JobRun.Status.RUNNING, started_at=timezone.now(),
                                parameters={"settlement_date": day.isoformat(), "account_bounds": [5, 9]},
                                steps=[{"name": "settle", "chunks": 3, "done": 1}], chunks_total=3, chunks_done=1,
                                started_by_label="beat")
    run = SettlementRun.objects.create(settlement_date=day, job=job, settled=120, partial=3, failed=4)
    base = login("jdoe", "pw-jdoe")
    page.goto(f"{base}/settlements/runs/")
    row = page.locator(f'#runs tr[data-job-id="{job.pk}"]')
    expect(row.locator("[data-field=percent]")).to_have_text("33%")
    expect(row.locator(".pill")).to_have_text("Running")

    JobRun.objects.filter(pk=job.pk).update(chunks_done=2)
    expect(row.locator("[data-field=percent]")).to_have_text("66%")
    expect(row.locator("[data-field=chunks]")).to_have_text("2/3 chunks")
    screenshot("settlement-runs-running")

    SettlementRun.objects.filter(pk=run.pk).update(settled=1234)
    JobRun.objects.filter(pk=job.pk).update(status=JobRun.Status.COMPLETED, chunks_done=3, finished_at=timezone.now())
    expect(row.locator(".pill")).to_have_text("Completed")
    expect(row.locator("td").nth(4)).to_have_text("1,234")
