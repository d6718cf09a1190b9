"""The settlement queue in a browser, as an operations clerk works it after the clearing runs: the open instructions
by date, a held one and why, a standing settlement instruction proposed from it and (once another user approves it)
the instruction released; allow-partial and a counterparty's failure recorded on an instruction; what is still to
settle on the inventory page.

Screenshots: test-artifacts/screenshots/settlement-queue.png, settlement-instruction-held.png, ssis.png,
settlement-queue-released.png, settlement-instruction.png, inventory-pending.png.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from playwright.sync_api import expect

from backoffice.core.jobs.services import job_run_execute
from clearing.netting import services as netting
from records.approvals import services as approvals
from records.approvals.models import ChangeRequest
from records.reference.models import Counterparty
from records.trades import services as trades
from records.trades.models import Trade
from settlements.instructions.services import ssis
from settlements.models import SettlementInstruction
from tests.conftest import make_user
from tests.data import trading_days_before

pytestmark = pytest.mark.browser

# account, counterparty, symbol, side, quantity, price. GSCO and MSCO clear through NSCC; JEFF is bilateral.
FLOW = [
    ("HOUSE", "GSCO", "AAPL", "BUY", "1200", "189.25"), ("HOUSE", "MSCO", "AAPL", "SELL", "700", "189.40"),
    ("HOUSE", "GSCO", "MSFT", "SELL", "450", "415.20"), ("HOUSE", "JEFF", "IBM", "BUY", "2000", "224.75"),
    ("HOUSE", "JEFF", "IBM", "SELL", "500", "225.10"), ("C-100231", "GSCO", "NVDA", "BUY", "2500", "131.38"),
    ("C-100231", "NSCC", "AMZN", "BUY", "400", "186.40"), ("C-100245", "MSCO", "JPM", "BUY", "800", "212.02"),
    ("C-100245", "JEFF", "SPY", "SELL", "100", "571.44"),
]


@pytest.fixture
def instructed(demo_book):
    """The flow booked on each of the last two trading days before yesterday and netted; NSCC has an SSI for any
    market, Jefferies none: its instructions are held."""
    days = trading_days_before(timezone.localdate() - timedelta(days=1), 2)
    oms = make_user("demo-oms", "front_office")
    items = [(n, trades.TradeInput(
        external_ref=f"OMS-{day:%m%d}-{n:02d}", account=account, counterparty=counterparty,
        instrument=demo_book["instruments"][symbol].isin, side=side, quantity=Decimal(quantity), price=Decimal(price),
        trade_date=day)) for day in days for n, (account, counterparty, symbol, side, quantity, price)
        in enumerate(FLOW)]
    items = [(n, item) for n, (_, item) in enumerate(items)]
    with transaction.atomic():
        results = trades.trade_submit_batch(submitted_by=oms, items=items)
        Trade.objects.filter(pk__in=[r.trade_id for r in results.values()]).update(
            match_status=Trade.MatchStatus.MATCHED)
        ssis.ssi_create(actor="test", counterparty=Counterparty.objects.get(code="NSCC"), market=None,
                        depository_bic="DTCYUS33", place_of_settlement_bic="DTCYUS33", agent_bic="NSCCUS33",
                        safekeeping_account="NSCC-DTC-0001", effective_from=days[-1])
    settlement_dates = sorted(set(Trade.objects.values_list("settlement_date", flat=True)))
    for day in settlement_dates:
        with transaction.atomic():
            run = netting.clearing_run_create(settlement_date=day, started_by="beat")
        job_run_execute(job_id=run.job_id)
    return settlement_dates


def test_a_clerk_works_the_settlement_queue(page, operator, login, screenshot, instructed):
    assert SettlementInstruction.objects.count() == 14
    held = SettlementInstruction.objects.filter(status="HELD").order_by("settlement_date", "id")
    assert held.count() == 4
    base = login("jdoe", "pw-jdoe")

    page.get_by_role("navigation").get_by_role("link", name="Settlement queue").click()
    expect(page.locator("h1")).to_have_text("Settlement queue")
    expect(page.locator("#instructions tbody tr")).to_have_count(14)
    expect(page.locator("#instructions tr.held")).to_have_count(4)
    expect(page.locator("#instructions tr.held td.reason").first).to_have_text(
        "no standing settlement instruction for JEFF in XNYS")
    expect(page.locator('#status-counts [data-status="HELD"] .count')).to_have_text("4")
    screenshot("settlement-queue")

    first_held = held.first()
    page.locator(f'#instructions a[href="/settlements/instructions/{first_held.pk}/"]').click()
    expect(page.locator("#hold-banner")).to_contain_text("no standing settlement instruction for JEFF in XNYS")
    screenshot("settlement-instruction-held")

    page.locator("#hold-banner").get_by_role("link", name="propose one").click()
    expect(page.get_by_label("Counterparty", exact=True)).to_have_value("JEFF")
    expect(page.get_by_label("Market")).to_have_value("XNYS")
    page.get_by_label("Market").select_option("")  # Jefferies settles everything at DTC: its default
    page.get_by_label("Depository (BIC)").fill("dtcyus33")
    page.get_by_label("Place of settlement (BIC)").fill("DTCYUS33")
    page.get_by_label("Their agent (BIC)").fill("JEFFUS3")  # one character short
    page.get_by_label("Safekeeping account").fill("JEFF-DTC-0550")
    page.get_by_label("Effective from").fill(instructed[0].replace(day=1).isoformat())
    page.get_by_label("Reason").fill("Jefferies' SSI letter")
    page.get_by_role("button", name="Propose").click()
    expect(page.locator("#ssi-form .field-error")).to_contain_text("Not a valid BIC")
    page.get_by_label("Their agent (BIC)").fill("JEFFUS33")
    page.get_by_role("button", name="Propose").click()
    expect(page.locator(".messages")).to_contain_text("It takes effect when another operations user approves it.")
    expect(page.locator("#ssi-proposals tbody tr")).to_have_count(1)
    screenshot("ssis")

    change = ChangeRequest.objects.get(kind="ssi.change")
    with transaction.atomic():
        approvals.change_approve(actor=make_user("checker", "operations"), change_id=change.pk, reason="called them")
    page.goto(f"{base}/settlements/instructions/")
    expect(page.locator("#instructions tr.held")).to_have_count(0)
    expect(page.locator('#status-counts [data-status="PENDING"] .count')).to_have_text("14")
    screenshot("settlement-queue-released")

    aapl = SettlementInstruction.objects.filter(account__code="HOUSE", instrument__symbol="AAPL").order_by("id").first()
    page.goto(f"{base}/settlements/instructions/{aapl.pk}/")
    expect(page.locator("#instruction-fields")).to_contain_text("the account receives them")
    page.get_by_role("button", name="Settle all or nothing").click()
    expect(page.locator(".messages")).to_contain_text("partial settlement no longer allowed")
    page.get_by_label("What they failed to do").fill("NSCC reports a short delivery from a member")
    page.get_by_role("button", name="Record their failure").click()
    expect(page.locator("#cpty-fail-banner")).to_contain_text("NSCC reports a short delivery from a member")
    aapl.refresh_from_db()
    assert (aapl.allow_partial, aapl.counterparty_fail_reason) == (False, "NSCC reports a short delivery from a member")
    screenshot("settlement-instruction")

    page.goto(f"{base}/records/inventory/?account=HOUSE")
    expect(page.locator("#pending-settlements tbody tr")).to_have_count(6)
    screenshot("inventory-pending")
