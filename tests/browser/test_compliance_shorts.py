"""Locates, borrows and the penalty box in a browser: the stock-loan desk records a borrow on the form and
returns it (after the confirmation), compliance releases an account from the penalty box with a reason.

Screenshots: test-artifacts/screenshots/compliance-locates-recorded.png, compliance-locates-returned.png,
compliance-penalty-box.png, compliance-penalty-box-released.png.
"""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from compliance.shorts.models import Locate, PenaltyBoxEntry
from tests.conftest import make_user

pytestmark = pytest.mark.browser


def test_the_desk_records_and_returns_a_borrow(page, login, demo_book, screenshot):
    make_user("loans", "operations")
    base = login("loans", "pw-loans")
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{base}/compliance/locates/")
    isin = demo_book["instruments"]["AAPL"].isin
    page.fill("#add-account", "C-100231")
    page.fill("#add-instrument", isin)
    page.select_option("#add-kind", "BORROW")
    page.fill("#add-quantity", "12,500")
    page.fill("#add-source", "Atlantic Prime Brokerage")
    page.fill("#add-reference", "SL-2026-0412")
    page.fill("#add-valid_from", (timezone.localdate() - timedelta(days=2)).isoformat())
    page.get_by_role("button", name="Record").click()
    expect(page.locator("li.msg-success")).to_contain_text("Borrow SL-2026-0412 recorded")
    row = page.locator("#locates tbody tr").filter(has_text="SL-2026-0412")
    expect(row).to_contain_text("In force")
    expect(page.locator("#totals")).to_contain_text("12,500")
    screenshot("compliance-locates-recorded")

    row.locator("input[name=reason]").fill("Returned to lender")
    row.get_by_role("button", name="Return").click()
    expect(page.locator("body")).to_contain_text("Borrow SL-2026-0412 ended")
    locate = Locate.objects.get(reference="SL-2026-0412")
    assert (locate.valid_to, locate.end_reason) == (timezone.localdate() - timedelta(days=1), "Returned to lender")
    page.goto(f"{base}/compliance/locates/?state=ENDED")
    expect(page.locator("#locates tbody tr").filter(has_text="SL-2026-0412")).to_contain_text("Returned")
    screenshot("compliance-locates-returned")


def test_compliance_releases_an_account_from_the_penalty_box(page, login, demo_book, screenshot):
    today = timezone.localdate()
    account, instrument = next(iter(demo_book["accounts"].values())), demo_book["instruments"]["AAPL"]
    entry = PenaltyBoxEntry.objects.create(account=account, instrument=instrument, fail_id=7001,
                                           close_out_deadline=today - timedelta(days=6),
                                           since=today - timedelta(days=5), reason="Fail to deliver past close-out")
    make_user("officer", "compliance")
    base = login("officer", "pw-officer")
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{base}/compliance/penalty-box/")
    row = page.locator("#penalty-box tbody tr").first
    expect(row).to_contain_text("Pre-borrow required")
    expect(row).to_contain_text("Fail 7001")
    screenshot("compliance-penalty-box")
    row.locator("input[name=reason]").fill("Bought in; fail closed")
    row.get_by_role("button", name="Release").click()
    expect(page.locator("body")).to_contain_text("released from the penalty box")
    entry.refresh_from_db()
    assert (entry.released_on, entry.release_reason) == (today, "Bought in; fail closed")
    page.goto(f"{base}/compliance/penalty-box/?show=ALL")
    screenshot("compliance-penalty-box-released")
