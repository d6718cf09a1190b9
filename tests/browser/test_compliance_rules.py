"""The compliance rule editor in a browser: a compliance officer reads the rules by stage, proposes a change
(the threshold's unit and the kind's parameters follow the kind), another officer approves it, and the rule's
page shows version 2 with what changed.

Screenshots: test-artifacts/screenshots/compliance-rules-editor.png, compliance-rules-propose.png,
compliance-rule-history.png.
"""

import pytest
from django.db import transaction
from playwright.sync_api import expect

from compliance.rules.kinds import RULE_CHANGE
from compliance.rules.models import ComplianceRule
from records.approvals import services as approvals
from records.approvals.models import ChangeRequest
from tests.conftest import make_user

pytestmark = pytest.mark.browser


def test_an_officer_changes_a_rule_under_maker_checker(page, login, transactional_db, screenshot):
    make_user("maker", "compliance")
    base = login("maker", "pw-maker")
    page.goto(f"{base}/compliance/rules/")
    expect(page.locator("h1")).to_have_text("Compliance rules")
    expect(page.locator("#rules tbody tr.group-row").first).to_contain_text("Pre-trade")
    expect(page.locator("#rules")).to_contain_text("250,000,000")
    screenshot("compliance-rules-editor")

    # A new rule: the unit and the parameters follow the kind chosen.
    page.locator("#propose summary").click()
    page.select_option("#rule-kind", "STRUCTURING")
    expect(page.locator("#threshold-unit")).to_have_text("(the reporting threshold, in params.currency)")
    expect(page.locator("#params-hint")).to_contain_text("near_pct (default \"10\")")
    page.select_option("#rule-kind", "ACCOUNT_STATUS")
    expect(page.locator("#rule-threshold")).to_be_disabled()
    page.select_option("#rule-kind", "STRUCTURING")

    # A change to an existing one.
    page.goto(f"{base}/compliance/rules/?change=structuring#propose")
    expect(page.locator("#propose")).to_have_attribute("open", "")
    page.fill("#rule-threshold", "9000")
    page.fill("#rule-params", '{"near_pct": "10", "window_days": 7, "min_count": 3, "currency": "USD"}')
    page.fill("#rule-reason", "FinCEN guidance: a wider window")
    page.evaluate("window.scrollTo(0, 0)")
    screenshot("compliance-rules-propose")
    page.get_by_role("button", name="Propose").click()
    expect(page.locator(".messages, .message").first).to_contain_text("Proposed as change #")
    expect(page.locator("#rules-pending-table")).to_contain_text("Change compliance rule structuring")

    change = ChangeRequest.objects.get(kind=RULE_CHANGE)
    with transaction.atomic():
        approvals.change_approve(actor=make_user("checker", "compliance"), change_id=change.pk)
    rule = ComplianceRule.objects.get(code="structuring")
    assert (rule.version, str(rule.threshold.normalize()), rule.params["window_days"]) == (2, "9E+3", 7)

    page.goto(f"{base}/compliance/rules/{rule.pk}/")
    expect(page.locator("#versions tbody tr").first).to_contain_text("v2")
    expect(page.locator("#versions tbody tr").first).to_contain_text("checker")
    expect(page.locator("#versions")).to_contain_text("10000 → 9000")
    expect(page.locator("#versions")).to_contain_text("params.window_days 5 → 7")
    screenshot("compliance-rule-history")
