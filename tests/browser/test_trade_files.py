"""The Trade files page in a browser: a clerk uploads a day's file, sees it booked and reads its rejected rows."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from backoffice.core.jobs.services import job_run_execute
from records.trades.files.models import TradeFile
from tests.conftest import make_user
from tests.data import trading_days_before

pytestmark = pytest.mark.browser


def test_upload_a_trade_file_and_read_its_report(page, login, screenshot, demo_book, tmp_path):
    make_user("desk", "front_office")
    day = trading_days_before(timezone.localdate() - timedelta(days=1), 1)[0].isoformat()
    aapl, sap = demo_book["instruments"]["AAPL"], demo_book["instruments"]["SAP"]
    lines = ["external_ref,account,counterparty,instrument,side,quantity,price,trade_date,commission"]
    for n in range(12):
        lines.append(f"EOD-{n},HOUSE,GSCO,{aapl.isin},BUY,{100 * (n + 1)},"
                     f"{aapl.prices.order_by('-price_date').first().price},{day},4.95")
    lines += [f"EOD-12,HOUSE,GSCO,{sap.isin},BUY,abc,10,{day},", f"EOD-13,NO-SUCH,GSCO,{aapl.isin},BUY,5,1,{day},",
              "EOD-14,HOUSE,GSCO"]
    path = tmp_path / "desk-eod.csv"
    path.write_text("\n".join(lines) + "\n")

    base = login("desk", "pw-desk")
    page.goto(f"{base}/records/trades/files/")
    expect(page.get_by_role("link", name="Trade files")).to_be_visible()
    page.set_input_files("input[type=file]", str(path))
    page.get_by_role("button", name="Upload and book").click()
    expect(page.get_by_text("15 rows staged; booking them is queued.")).to_be_visible()
    job_run_execute(job_id=TradeFile.objects.get().job_id)  # what a worker does
    page.reload()
    expect(page.locator("#file-detail")).to_contain_text("12 created · 0 duplicate · 3 rejected")
    rows = page.locator("#rejected-rows tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("quantity: A valid number is required.")
    expect(rows.nth(1)).to_contain_text("Unknown account 'NO-SUCH'.")
    expect(rows.nth(2)).to_contain_text("row: Line 16 has 3 fields where the header has 9 (a truncated line?).")
    screenshot("trade-files")
    page.set_input_files("input[type=file]", str(_semicolons(tmp_path)))
    page.get_by_role("button", name="Upload and book").click()
    expect(page.locator(".field-error")).to_contain_text("separated by semicolons")
    screenshot("trade-files-refused")


def _semicolons(tmp_path):
    path = tmp_path / "semicolons.csv"
    path.write_text("external_ref;account;counterparty\nX;Y;Z\n")
    return path
