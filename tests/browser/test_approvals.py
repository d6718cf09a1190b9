"""The pending approvals page in a browser: a checker approves one change and rejects another."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from records.approvals import services as approvals
from records.approvals.models import ChangeRequest
from records.reference.models import Account
from tests.conftest import make_user

pytestmark = pytest.mark.browser


def test_a_checker_approves_and_rejects_on_the_approvals_page(page, demo_book, operator, login, screenshot):
    maker = make_user("maker", "operations")
    limit = approvals.change_propose(actor=maker, kind="account.update", reason="client moved to a smaller facility",
                                     payload={"code": "C-100231", "changes": {"credit_limit": "100000",
                                                                              "status": "SUSPENDED"}})
    adjustment = approvals.change_propose(actor=maker, kind="cash.adjustment", reason="bank charge booked twice",
                                          payload={"account": "HOUSE", "currency": "USD", "amount": "-125.40"})
    base = login("jdoe", "pw-jdoe")

    page.get_by_role("navigation").get_by_role("link", name="Pending approvals").click()

    expect(page.locator(".change-card")).to_have_count(2)
    expect(page.locator(f"#diff-{limit.pk} tbody tr")).to_have_count(2)
    screenshot("approvals")

    page.locator(f"#change-{limit.pk}").get_by_role("button", name="Approve").click()
    expect(page.locator(".msg-success")).to_contain_text(f"Change #{limit.pk} approved and applied")
    expect(page.locator(".change-card")).to_have_count(1)

    card = page.locator(f"#change-{adjustment.pk}")
    card.get_by_label(f"Reason to reject change {adjustment.pk}").fill("not on the bank statement")
    card.get_by_role("button", name="Reject").click()
    expect(page.locator(".msg-success")).to_contain_text(f"Change #{adjustment.pk} rejected")

    account = Account.objects.get(code="C-100231")
    assert (account.status, account.credit_limit) == ("SUSPENDED", Decimal("100000"))
    assert ChangeRequest.objects.get(pk=adjustment.pk).decision_reason == "not on the bank statement"

    page.goto(f"{base}/records/approvals/?tab=mine")
    expect(page.locator("#my-proposals tbody tr td.empty")).to_have_count(1)
