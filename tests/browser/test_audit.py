"""The audit trail in a browser: search a record's changes, open one, verify the chain."""

import pytest
from playwright.sync_api import expect

from records.approvals import services as approvals
from records.audit.models import AuditRecord
from records.reference.models import Account
from tests.conftest import make_user

pytestmark = pytest.mark.browser


def test_an_operator_finds_a_change_sees_its_diff_and_verifies_the_chain(page, demo_book, operator, login,
                                                                         screenshot):
    maker = make_user("maker", "operations")
    change = approvals.change_propose(actor=maker, kind="account.update", reason="client moved to a smaller facility",
                                      payload={"code": "C-100231", "changes": {"credit_limit": "100000"}})
    approvals.change_approve(actor=make_user("checker", "operations"), change_id=change.pk, reason="signed form")
    account = Account.objects.get(code="C-100231")
    update = AuditRecord.objects.filter(record_type="records.account", record_id=str(account.pk),
                                        action="UPDATE").order_by("-id").first()
    login("jdoe", "pw-jdoe")

    page.get_by_role("navigation").get_by_role("link", name="Audit trail").click()
    expect(page.locator("#audit tbody tr")).to_have_count(50)
    expect(page.locator("#chain-status")).to_contain_text("never verified")
    screenshot("audit")

    page.get_by_label("Record type").fill("records.account")
    page.get_by_label("Record id").fill(str(account.pk))
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#audit tbody tr").first).to_contain_text("credit_limit")
    page.locator("#audit tbody tr").first.get_by_role("link", name=str(update.pk)).click()

    expect(page.locator("#diff tr.diff-changed")).to_have_count(1)
    expect(page.locator("#diff tr.diff-changed")).to_contain_text("100000")
    expect(page.locator("#record-facts")).to_contain_text("checker")
    screenshot("audit-detail")

    page.get_by_role("link", name="Audit trail").first.click()
    page.get_by_role("button", name="Verify chain now").click()
    expect(page.locator(".msg-success")).to_contain_text("Chain verification queued")
    expect(page.locator("#chain-status .pill-ok")).to_have_text("Intact")
    screenshot("audit-verified")
