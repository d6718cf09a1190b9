"""The rule editor (/compliance/rules/) and a rule's page (/compliance/rules/{id}/): compliance, operations and
accounting read them; compliance proposes new rules and changes (maker-checker); front office is refused.
"""

import lxml.html
import pytest
from django.db import transaction

from compliance.rules import services
from compliance.rules.kinds import RULE_CHANGE
from compliance.rules.models import ComplianceRule, RuleKind
from records.approvals import services as approvals
from records.approvals.models import ChangeRequest
from tests.conftest import make_user
from tests.pages import table_rows

pytestmark = pytest.mark.django_db
URL = "/compliance/rules/"
PROPOSE = "/compliance/rules/propose/"


def signed_in_as(client, *roles, name=None):
    client.force_login(make_user(name or "-".join(roles) or "none", *roles))
    return client


@pytest.fixture
def officer_client(client):
    return signed_in_as(client, "compliance", name="officer")


def codes(response) -> list[str]:
    return [row[0] for row in table_rows(response, "rules") if len(row) > 1]


def test_anonymous_is_sent_to_log_in(client):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"] == f"/accounts/login/?next={URL}"


@pytest.mark.parametrize("role", ["operations", "accounting", "compliance"])
def test_readers_see_the_rules_and_only_compliance_the_form(client, role):
    response = signed_in_as(client, role).get(URL)
    assert response.status_code == 200
    assert (b'id="rule-form"' in response.content) is (role == "compliance")
    assert len(codes(response)) == ComplianceRule.objects.count()
    rule = ComplianceRule.objects.get(code="notional-hold")
    assert client.get(f"{URL}{rule.pk}/").status_code == 200


def test_front_office_is_refused(client):
    signed_in_as(client, "front_office")
    rule = ComplianceRule.objects.get(code="notional-hold")
    assert client.get(URL).status_code == 403
    assert client.get(f"{URL}{rule.pk}/").status_code == 403
    assert client.post(PROPOSE, {"code": "x", "kind": "QUANTITY", "threshold": "1", "action": "REJECT",
                                 "scope": "ALL", "severity": "LOW", "reason": "r"}).status_code == 403


def test_operations_may_not_propose(client):
    signed_in_as(client, "operations")
    response = client.post(PROPOSE, {"code": "x", "kind": "QUANTITY", "threshold": "1", "action": "REJECT",
                                     "scope": "ALL", "severity": "LOW", "reason": "r"})
    assert response.status_code == 403 and not ChangeRequest.objects.exists()


def test_the_table_groups_by_stage_with_units_and_states(officer_client):
    response = officer_client.get(URL)
    rows = table_rows(response, "rules")
    groups = [row[0] for row in rows if len(row) == 1]
    assert groups[0].startswith("Pre-trade") and groups[1].startswith("Surveillance")
    by_code = {row[0]: row for row in rows if len(row) > 1}
    assert by_code["notional-reject"] == [
        "notional-reject", "Notional above 250M per trade", "Notional per trade", "All", "250,000,000",
        "trade ccy", "—", "Reject", "High", "In force", "always", "v1", "Change"]
    assert by_code["price-deviation-hold"][4:6] == ["10%", "% from last"]
    assert by_code["structuring"][4:6] == ["10,000", "USD"]
    assert by_code["concentration"][9] == "Inactive"
    assert by_code["structuring"][6] == "near pct 10, window days 5, min count 3, currency USD"
    assert by_code["account-status"][4:6] == ["—", ""]
    # The documented kinds are listed under the table.
    assert [row[0].split()[0] for row in table_rows(response, "rule-kinds")] == list(RuleKind.values)


@pytest.mark.parametrize(("query", "expected"), [
    ("?stage=SURVEILLANCE", ["fail-close-out", "large-trade", "marking-close", "structuring", "wash-trades"]),
    ("?kind=NOTIONAL", ["notional-hold", "notional-reject"]),
    ("?action=HOLD&stage=PRETRADE", ["notional-hold", "price-deviation-hold", "short-sale-locate"]),
    ("?severity=CRITICAL", ["fail-close-out"]),
    ("?state=INACTIVE", ["buying-power", "concentration", "price-deviation-hold", "price-deviation-reject",
                         "short-sale-locate"]),
    ("?search=notional", ["notional-hold", "notional-reject"]),
    ("?scope=ACCOUNT", []),
    ("?kind=BOGUS", None),  # an invalid filter is shown on the form and ignored
    ("?search=a%00b", None),
])
def test_filters(officer_client, query, expected):
    response = officer_client.get(URL + query)
    assert response.status_code == 200
    if expected is None:
        assert len(codes(response)) == ComplianceRule.objects.count()
        assert b"field-error" in response.content
    else:
        assert codes(response) == expected


def test_proposing_a_new_rule_from_the_page_and_approving_it(officer_client, instruments):
    response = officer_client.post(PROPOSE, {
        "code": "apple-qty", "name": "Apple quantity", "kind": "QUANTITY", "scope": "INSTRUMENT",
        "scope_value": "US0378331005", "threshold": "100000", "action": "HOLD", "severity": "HIGH",
        "active": "on", "params": "", "reason": "Thin liquidity"})
    assert response.status_code == 302, response.content.decode()[:2000]
    change = ChangeRequest.objects.get(kind=RULE_CHANGE)
    assert change.payload["threshold"] == "100000" and change.payload["scope_value"] == "US0378331005"
    page = officer_client.get(URL)
    assert "New compliance rule apple-qty" in " ".join(" ".join(r) for r in table_rows(page, "rules-pending-table"))
    with transaction.atomic():
        approvals.change_approve(actor=make_user("checker", "compliance"), change_id=change.pk)
    assert "apple-qty" in codes(officer_client.get(URL))


def test_proposing_a_change_keeps_code_and_kind_and_sends_only_what_differs(officer_client):
    rule = ComplianceRule.objects.get(code="wash-trades")
    page = officer_client.get(f"{URL}?change=wash-trades")
    doc = lxml.html.fromstring(page.content)
    assert doc.xpath('//input[@id="rule-threshold"]/@value') == ["1"]
    assert doc.xpath('//details[@id="propose"][@open]')  # opened on the change
    response = officer_client.post(PROPOSE, {
        "changing": "wash-trades", "code": "ignored", "kind": "QUANTITY", "name": rule.name, "scope": "ALL",
        "scope_value": "", "threshold": "2", "action": "ALERT", "severity": "HIGH", "active": "on",
        "params": '{"window_days": 2}', "reason": "Wider band"})
    assert response.status_code == 302
    change = ChangeRequest.objects.get(kind=RULE_CHANGE)
    assert change.payload == {"code": "wash-trades", "changes": {"threshold": "2", "params": {"window_days": 2}}}
    # The table shows the pending change instead of a Change link.
    row = next(r for r in table_rows(officer_client.get(URL), "rules") if r[0] == "wash-trades")
    assert row[12] == f"#{change.pk} awaiting"


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"threshold": "abc"}, "threshold", "A valid number"),
    ({"params": "{not json"}, "params", "Not JSON"),
    ({"params": "[1]"}, "params", "A JSON object"),
    ({"params": '{"window_days": 1}'}, "params", "Unknown parameter"),
    ({"action": "HOLD", "kind": "WASH_TRADE"}, "action", "only raises alerts"),
    ({"scope": "ACCOUNT", "scope_value": "NOPE"}, "scope_value", "Unknown account"),
    ({"code": "notional-hold"}, "code", "already exists"),
    ({"effective_from": "2026-12-02", "effective_to": "2026-12-01"}, "effective_to", "before effective_from"),
    ({"reason": ""}, "reason", "required"),
])
def test_a_refused_proposal_shows_on_the_form(officer_client, overrides, field, message):
    body = {"code": "new-rule", "kind": "QUANTITY", "scope": "ALL", "scope_value": "", "threshold": "10",
            "action": "REJECT", "severity": "LOW", "active": "on", "params": "", "reason": "r", **overrides}
    response = officer_client.post(PROPOSE, body)
    assert response.status_code == 400
    doc = lxml.html.fromstring(response.content)
    errors = " ".join(doc.xpath(f'//div[contains(@class, "field-{field}")]//div[@class="field-error"]/text()'))
    assert message in errors, response.content.decode()[:3000]
    assert not ChangeRequest.objects.exists()


def test_a_second_change_while_one_waits_shows_the_conflict(officer_client):
    body = {"changing": "quantity-reject", "code": "quantity-reject", "kind": "QUANTITY", "name": "x",
            "scope": "ALL", "scope_value": "", "threshold": "40000000", "action": "REJECT", "severity": "HIGH",
            "active": "on", "params": "", "reason": "r"}
    assert officer_client.post(PROPOSE, body).status_code == 302
    response = officer_client.post(PROPOSE, {**body, "threshold": "30000000"})
    assert response.status_code == 400 and b"already awaiting approval" in response.content


def test_a_rules_page_shows_its_version_history(officer_client):
    rule = ComplianceRule.objects.get(code="notional-hold")
    with transaction.atomic():
        services.rule_update(actor=make_user("checker", "compliance"), code_or_id=rule.code,
                             changes={"threshold": "60000000"}, reason="change request #7: desk limits")
    response = officer_client.get(f"{URL}{rule.pk}/")
    rows = table_rows(response, "versions")
    assert rows[0][0] == "v2 current" and rows[0][2] == "checker"
    assert rows[0][3] == "threshold 50000000 → 60000000" and rows[0][4] == "change request #7: desk limits"
    assert rows[1][0] == "v1" and rows[1][3].startswith("Created: NOTIONAL at 50000000")
    assert officer_client.get(f"{URL}999999/").status_code == 404
