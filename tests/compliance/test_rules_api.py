"""The compliance rules over the API (API.md "Compliance"): GET and POST /api/v1/compliance/rules/, GET and PATCH
.../{id}/. New rules and changes are proposed under maker-checker (202), applied when a different compliance
user approves them: the rule changes, its version goes up, the version before is kept, all of it audited.
"""

import json

import pytest

from compliance.rules.kinds import RULE_CHANGE
from compliance.rules.models import ComplianceRule, RuleVersion
from compliance.rules.validators import rule_values, rule_view
from records.approvals.models import ChangeRequest
from records.audit.models import AuditRecord
from tests.conftest import APPLE, client_for, make_user

pytestmark = pytest.mark.django_db
URL = "/api/v1/compliance/rules/"
RECORD_TYPE = "compliance.compliancerule"


def post(client, data, url=URL):
    return client.post(url, data=json.dumps(data), content_type="application/json")


def patch(client, rule, data):
    return client.patch(f"{URL}{rule.pk}/", data=json.dumps(data), content_type="application/json")


def approve(change_id, username="checker"):
    checker = client_for(make_user(username, "compliance"))
    return checker.post(f"/api/v1/approvals/{change_id}/approve/", {}, format="json")


def rule(code):
    return ComplianceRule.objects.get(code=code)


NEW = {"code": "msft-position", "name": "MSFT position at most 1M", "kind": "POSITION_LIMIT", "scope": "INSTRUMENT",
       "scope_value": "US5949181045", "threshold": "1000000", "action": "REJECT", "severity": "HIGH",
       "reason": "Desk mandate"}


def test_the_rules_list_with_their_stage_unit_and_filters(compliance_client, ops_client, accounting_client):
    body = compliance_client.get(URL).json()
    assert body["count"] == ComplianceRule.objects.count() == 14
    notional = next(row for row in body["results"] if row["code"] == "notional-reject")
    assert {k: notional[k] for k in ("kind", "stage", "scope", "scope_value", "threshold", "threshold_unit",
                                     "params", "action", "severity", "active", "in_force", "version")} == {
        "kind": "NOTIONAL", "stage": "PRETRADE", "scope": "ALL", "scope_value": "", "threshold": "250000000",
        "threshold_unit": "in the trade currency", "params": {}, "action": "REJECT", "severity": "HIGH",
        "active": True, "in_force": True, "version": 1}

    def codes(query):
        response = ops_client.get(URL + query)
        assert response.status_code == 200, response.content
        return [row["code"] for row in response.json()["results"]]

    assert codes("?kind=PRICE_DEVIATION") == ["price-deviation-hold", "price-deviation-reject"]
    assert codes("?action=HOLD") == ["notional-hold", "price-deviation-hold", "short-sale-locate"]
    assert codes("?active=false") == ["buying-power", "concentration", "price-deviation-hold",
                                      "price-deviation-reject", "short-sale-locate"]  # suspended in tests
    assert codes("?stage=SURVEILLANCE&severity=CRITICAL") == ["fail-close-out"]
    assert codes("?scope=ACCOUNT") == []
    assert accounting_client.get(URL + "?kind=NOPE").status_code == 400
    assert accounting_client.get(URL + "?active=maybe").status_code == 400


def test_a_new_rule_is_proposed_202_and_made_when_another_compliance_user_approves(compliance_client, instruments):
    response = post(compliance_client, NEW)
    assert response.status_code == 202, response.json()
    change = response.json()
    assert (change["kind"], change["target_id"], change["status"], change["before"]) == (
        RULE_CHANGE, "msft-position", "PENDING", None)
    assert change["payload"] == {
        "code": "msft-position", "name": "MSFT position at most 1M", "kind": "POSITION_LIMIT", "scope": "INSTRUMENT",
        "scope_value": "US5949181045", "threshold": "1000000", "params": {}, "action": "REJECT", "severity": "HIGH",
        "active": True, "effective_from": None, "effective_to": None}
    assert change["summary"] == ("New compliance rule msft-position: POSITION_LIMIT at 1000000, REJECT, HIGH, "
                                 "instrument US5949181045")
    assert not ComplianceRule.objects.filter(code="msft-position").exists()

    assert approve(change["id"]).json()["status"] == "APPROVED"
    made = rule("msft-position")
    assert (made.threshold, made.scope_value, made.version, made.active) == (1000000, "US5949181045", 1, True)
    audit = AuditRecord.objects.get(record_type=RECORD_TYPE, record_id=str(made.pk))
    assert (audit.action, audit.actor_label) == ("CREATE", "checker")
    assert audit.reason == f"change request #{change['id']}: Desk mandate"


def test_a_change_is_proposed_then_applied_as_version_2_keeping_version_1(compliance_client, compliance_user):
    before = rule("notional-hold")
    response = patch(compliance_client, before, {"threshold": "75000000", "severity": "HIGH",
                                                 "reason": "New desk limits"})
    assert response.status_code == 202, response.json()
    change = response.json()
    assert change["payload"] == {"code": "notional-hold", "changes": {"threshold": "75000000", "severity": "HIGH"}}
    assert change["before"]["threshold"] == "50000000"
    assert change["summary"] == "Change compliance rule notional-hold: threshold 75000000, severity HIGH"
    assert rule("notional-hold").version == 1  # nothing changes before approval

    # The detail shows the pending change.
    assert compliance_client.get(f"{URL}{before.pk}/").json()["pending_change"] == change["id"]
    assert approve(change["id"]).json()["status"] == "APPROVED"

    after = rule("notional-hold")
    assert (after.threshold, after.severity, after.version) == (75000000, "HIGH", 2)
    kept = RuleVersion.objects.get(rule=after)
    assert kept.version == 1 and kept.values["threshold"] == "50000000" and kept.values["severity"] == "MEDIUM"
    assert kept.changed_by.username == "checker" and kept.reason.endswith("New desk limits")
    audit = AuditRecord.objects.get(record_type=RECORD_TYPE, record_id=str(after.pk), action="UPDATE")
    assert audit.before["threshold"] == "50000000" and audit.after["threshold"] == "75000000"
    assert audit.before["version"] == 1 and audit.after["version"] == 2

    detail = compliance_client.get(f"{URL}{after.pk}/").json()
    assert (detail["version"], detail["threshold"], detail["pending_change"]) == (2, "75000000", None)
    assert [(v["version"], v["values"]["threshold"], v["changed_by"]) for v in detail["versions"]] == [
        (1, "50000000", "checker")]

    # A second change makes version 3 and keeps version 2.
    change = patch(compliance_client, after, {"active": False, "reason": "Replaced"}).json()
    assert change["summary"] == "Deactivate compliance rule notional-hold"
    approve(change["id"], "checker2")
    assert (rule("notional-hold").active, rule("notional-hold").version) == (False, 3)
    assert list(RuleVersion.objects.filter(rule=after).values_list("version", flat=True)) == [2, 1]


def test_the_proposer_may_not_approve_their_own_change_not_even_a_superuser(compliance_client, instruments):
    change = post(compliance_client, NEW).json()
    response = compliance_client.post(f"/api/v1/approvals/{change['id']}/approve/", {}, format="json")
    assert response.status_code == 403
    root = make_user("root", superuser=True)
    own = post(client_for(root), {**NEW, "code": "root-rule"}).json()
    assert client_for(root).post(f"/api/v1/approvals/{own['id']}/approve/", {}, format="json").status_code == 403
    # A superuser approves someone else's.
    assert client_for(root).post(f"/api/v1/approvals/{change['id']}/approve/", {},
                                 format="json").json()["status"] == "APPROVED"
    assert ComplianceRule.objects.filter(code="msft-position").exists()
    assert not ComplianceRule.objects.filter(code="root-rule").exists()


def test_operations_may_not_approve_a_rule_change(compliance_client, ops_client):
    change = patch(compliance_client, rule("notional-hold"), {"threshold": "60000000"}).json()
    response = ops_client.post(f"/api/v1/approvals/{change['id']}/approve/", {}, format="json")
    assert response.status_code == 403
    assert rule("notional-hold").version == 1


def test_a_second_change_while_one_waits_is_409(compliance_client):
    target = rule("quantity-reject")
    assert patch(compliance_client, target, {"threshold": "40000000"}).status_code == 202
    response = patch(compliance_client, target, {"severity": "LOW"})
    assert response.status_code == 409 and "already awaiting approval" in response.json()["detail"]
    assert ChangeRequest.objects.filter(kind=RULE_CHANGE).count() == 1


def test_a_change_that_moved_since_it_was_proposed_fails_at_approval(compliance_client):
    target = rule("quantity-reject")
    change = patch(compliance_client, target, {"threshold": "40000000"}).json()
    ComplianceRule.objects.filter(pk=target.pk).update(threshold=45000000)  # changed behind its back
    result = approve(change["id"]).json()
    assert result["status"] == "FAILED" and "threshold changed after" in result["result"]["error"]
    assert rule("quantity-reject").version == 1 and not RuleVersion.objects.exists()


def test_reading_roles_and_writing_roles(anon_client, fo_client, ops_client, accounting_client, instruments):
    target = rule("notional-hold")
    assert anon_client.get(URL).status_code == 401
    assert fo_client.get(URL).status_code == 403
    assert fo_client.get(f"{URL}{target.pk}/").status_code == 403
    assert ops_client.get(f"{URL}{target.pk}/").status_code == 200
    assert accounting_client.get(URL).status_code == 200
    for client in (fo_client, ops_client, accounting_client):
        assert post(client, NEW).status_code == 403
        assert patch(client, target, {"threshold": "1"}).status_code == 403
    assert not ChangeRequest.objects.exists()


def test_unknown_rule_is_404(compliance_client):
    assert compliance_client.get(f"{URL}999999/").status_code == 404
    assert patch(compliance_client, type("R", (), {"pk": 999999})(), {"threshold": "1"}).status_code == 404
    assert compliance_client.get(f"{URL}abc/").status_code == 404


# Every rule a proposal may break: a 400 at its field, nothing proposed. -------------------------------------

BAD_NEW = [
    ({"code": "notional-reject"}, "code", "already exists"),
    ({"code": "bad code"}, "code", "A rule code"),
    ({"code": "x" * 51}, "code", "A rule code"),
    ({"code": "a\x00b"}, "code", "A rule code"),
    ({"code": 12}, "code", "A rule code"),
    ({"code": None}, "code", "This field is required."),
    ({"kind": "INSIDER"}, "kind", "not a valid choice"),
    ({"kind": 3}, "kind", "not a valid choice"),
    ({"name": "a\x00b"}, "name", "control characters"),
    ({"name": 5}, "name", "Not a valid string."),
    ({"name": "x" * 201}, "name", "no more than 200"),
    ({"scope": "DESK"}, "scope", "not a valid choice"),
    ({"scope_value": "US0000000000"}, "scope_value", "Unknown instrument"),
    ({"scope": "ACCOUNT", "scope_value": "NOPE-1"}, "scope_value", "Unknown account"),
    ({"scope": "ASSET_CLASS", "scope_value": "CRYPTO"}, "scope_value", "not an asset class"),
    ({"scope": "ALL", "scope_value": APPLE}, "scope_value", "leave scope_value empty"),
    ({"scope_value": ""}, "scope_value", "names its instrument's ISIN"),
    ({"scope_value": "US59\x0049181045"}, "scope_value", "control characters"),
    ({"threshold": None}, "threshold", "needs a threshold"),
    ({"threshold": "0"}, "threshold", "greater than zero"),
    ({"threshold": "-5"}, "threshold", "greater than zero"),
    ({"threshold": 1.123456789}, "threshold", "decimal places"),
    ({"threshold": "abc"}, "threshold", "A valid number"),
    ({"threshold": "1.00001"}, "threshold", "decimal places"),
    ({"threshold": True}, "threshold", "A valid number"),
    ({"params": {"window_days": 3}}, "params", "Unknown parameter 'window_days' for POSITION_LIMIT"),
    ({"params": [1]}, "params", "An object"),
    ({"action": "BLOCK"}, "action", "not a valid choice"),
    ({"action": None}, "action", "This field is required."),
    ({"severity": "URGENT"}, "severity", "not a valid choice"),
    ({"active": "yes"}, "active", "true or false"),
    ({"effective_from": "2026-13-01"}, "effective_from", "wrong format"),
    ({"effective_from": "20261101"}, "effective_from", "wrong format"),
    ({"effective_from": "2026-11-10", "effective_to": "2026-11-09"}, "effective_to", "before effective_from"),
    ({"surprise": 1}, "surprise", "Unknown field"),
    ({"reason": "a\x00b"}, "reason", "control characters"),
    ({"reason": 5}, "reason", "Not a valid string."),
]


@pytest.mark.parametrize(("overrides", "field", "message"), BAD_NEW)
def test_a_bad_new_rule_is_400_at_its_field(compliance_client, instruments, accounts, overrides, field, message):
    response = post(compliance_client, {**NEW, **overrides})
    assert response.status_code == 400, response.content
    errors = response.json()
    assert field in errors and message in errors[field][0], errors
    assert not ChangeRequest.objects.exists()


EVERY = {"scope": "ALL", "scope_value": ""}
STRUCT = {"threshold": "10000", "action": "ALERT", **EVERY}
KIND_CASES = [
    # (kind, overrides, field, message): the per-kind rules of thresholds, params and actions.
    ("ACCOUNT_STATUS", {"threshold": "1"}, "threshold", "has no threshold"),
    ("SHORT_SALE", {"threshold": "0"}, "threshold", "has no threshold"),
    ("FAIL_CLOSE_OUT", {"threshold": "3"}, "threshold", "has no threshold"),
    ("BUYING_POWER", {"threshold": "-1"}, "threshold", "Must not be negative."),
    ("CONCENTRATION", {"threshold": "100.01"}, "threshold", "at most 100"),
    ("CONCENTRATION", {"threshold": "0"}, "threshold", "greater than zero"),
    ("CONCENTRATION", {"threshold": "25", "params": {"min_portfolio_value": "-1"}}, "params", "negative"),
    ("PRICE_DEVIATION", {"threshold": "150"}, "threshold", "at most 100"),
    ("NOTIONAL", {"params": {"per_currency": {"XXQ": "1"}}}, "params", "currency"),
    ("NOTIONAL", {"params": {"per_currency": {"JPY": "abc"}}}, "params", "params.per_currency.JPY"),
    ("NOTIONAL", {"params": {"per_currency": {"JPY": "0"}}}, "params", "greater than zero"),
    ("NOTIONAL", {"params": {"per_currency": "JPY 1"}}, "params", "an object of currency codes"),
    ("QUANTITY", {"threshold": None}, "threshold", "needs a threshold"),
    ("WASH_TRADE", {"threshold": "1", "action": "REJECT"}, "action", "only raises alerts"),
    ("WASH_TRADE", {"threshold": "1", "action": "HOLD"}, "action", "only raises alerts"),
    ("WASH_TRADE", {"threshold": "1", "action": "ALERT", "params": {"window_days": -1}}, "params", "at least 0"),
    ("WASH_TRADE", {"threshold": "1", "action": "ALERT", "params": {"window_days": "two"}}, "params", "whole number"),
    ("WASH_TRADE", {"threshold": "1", "action": "ALERT", "params": {"window_days": True}}, "params", "whole number"),
    ("LARGE_TRADE", {"threshold": "25", "action": "ALERT", "params": {"adv_days": 0}}, "params", "at least 1"),
    ("LARGE_TRADE", {"threshold": "25", "action": "ALERT", "params": {"adv_days": 5, "min_days": 6}}, "params",
     "min_days: at most params.adv_days"),
    ("STRUCTURING", {**STRUCT, "params": {"near_pct": "0"}}, "params", "near_pct"),
    ("STRUCTURING", {**STRUCT, "params": {"min_count": 1}}, "params", "at least 2"),
    ("STRUCTURING", {**STRUCT, "params": {"currency": "usd"}}, "params", "currency"),
    ("STRUCTURING", {**STRUCT, "params": {"bogus": 1}}, "params", "Unknown parameter"),
    ("STRUCTURING", {"threshold": "10000", "action": "ALERT"}, "scope", "ALL or ACCOUNT only"),
    ("MARKING_CLOSE", {"threshold": "2", "action": "ALERT", "params": {"window_minutes": 0}}, "params",
     "at least 1"),
    ("MARKING_CLOSE", {"threshold": "2", "action": "ALERT", "params": {"window_minutes": 481}}, "params",
     "at most 480"),
]


@pytest.mark.parametrize(("kind", "overrides", "field", "message"), KIND_CASES)
def test_each_kind_refuses_what_it_cannot_mean(compliance_client, instruments, kind, overrides, field, message):
    response = post(compliance_client, {**NEW, "kind": kind, **overrides})
    assert response.status_code == 400, response.content
    errors = response.json()
    assert field in errors and message in errors[field][0], errors
    assert not ChangeRequest.objects.exists()


def test_params_take_their_defaults_and_canonical_types(compliance_client, accounts):
    response = post(compliance_client, {"code": "acc-structuring", "kind": "STRUCTURING", "scope": "ACCOUNT",
                                        "scope_value": "ACC-001", "threshold": 10000, "action": "ALERT",
                                        "params": {"near_pct": 5, "window_days": "7"}})
    assert response.status_code == 202, response.json()
    assert response.json()["payload"]["params"] == {"near_pct": "5", "window_days": 7, "min_count": 3,
                                                    "currency": "USD"}
    assert response.json()["payload"]["threshold"] == "10000"
    response = post(compliance_client, {"code": "jpy-notional", "kind": "NOTIONAL", "threshold": "250000000",
                                        "action": "REJECT", "params": {"per_currency": {"JPY": "30000000000"}}})
    assert response.json()["payload"]["params"] == {"per_currency": {"JPY": "30000000000"}}
    # A percentage of exactly 100 and a buying power of 0 are accepted.
    assert post(compliance_client, {"code": "conc", "kind": "CONCENTRATION", "threshold": "100",
                                    "action": "HOLD"}).status_code == 202
    assert post(compliance_client, {"code": "bp", "kind": "BUYING_POWER", "threshold": "0",
                                    "action": "HOLD"}).status_code == 202


BAD_CHANGES = [
    ({"code": "other"}, "code", "never changes"),
    ({"kind": "QUANTITY"}, "kind", "never changes"),
    ({"threshold": None}, "threshold", "needs a threshold"),
    ({"threshold": "50000000"}, "non_field_errors", "changes nothing"),
    ({}, "non_field_errors", "changes nothing"),
    ({"scope": "INSTRUMENT"}, "scope_value", "names its instrument's ISIN"),
    ({"params": {"window_days": 1}}, "params", "Unknown parameter"),
    ({"effective_from": "2026-12-01", "effective_to": "2026-11-01"}, "effective_to", "before effective_from"),
    ({"active": 0}, "active", "true or false"),
    ({"version": 9}, "version", "Unknown field"),
    ([1, 2], "non_field_errors", "Expected a JSON object."),
]


@pytest.mark.parametrize(("body", "field", "message"), BAD_CHANGES)
def test_a_bad_change_is_400_at_its_field(compliance_client, body, field, message):
    response = patch(compliance_client, rule("notional-hold"), body)
    assert response.status_code == 400, response.content
    errors = response.json()
    assert field in errors and message in errors[field][0], errors
    assert not ChangeRequest.objects.exists()


def test_a_scope_change_to_every_trade_clears_its_value(compliance_client, instruments):
    target = rule("notional-hold")
    change = patch(compliance_client, target, {"scope": "INSTRUMENT", "scope_value": "us0378331005"}).json()
    assert change["payload"]["changes"] == {"scope": "INSTRUMENT", "scope_value": APPLE}
    approve(change["id"])
    change = patch(compliance_client, target, {"scope": "ALL"}).json()
    assert change["payload"]["changes"] == {"scope": "ALL", "scope_value": ""}
    approve(change["id"], "checker2")
    assert (rule("notional-hold").scope, rule("notional-hold").scope_value, rule("notional-hold").version) == (
        "ALL", "", 3)


def test_a_surveillance_rule_cannot_be_changed_to_hold(compliance_client):
    response = patch(compliance_client, rule("wash-trades"), {"action": "HOLD"})
    assert response.status_code == 400 and "only raises alerts" in response.json()["action"][0]


@pytest.mark.parametrize(("overrides", "field"), [
    ({"params": {"window\x00days": 1}}, "params"),
    ({"kind": "STRUCTURING", "threshold": "10000", "action": "ALERT", **EVERY, "params": {"currency": "US\x00"}},
     "params"),
    ({"kind": "NOTIONAL", "params": {"per_currency": {"JP\x00": "1"}}}, "params"),
    ({"threshold": "10\x00"}, "threshold"),
    ({"effective_from": "2026-11-0\x00"}, "effective_from"),
    ({"severity": "HIGH\x00"}, "severity"),
    ({"action": "REJECT\x00"}, "action"),
    ({"scope": "ALL\x00"}, "scope"),
])
def test_a_nul_anywhere_is_a_400_never_a_500(compliance_client, instruments, overrides, field):
    response = post(compliance_client, {**NEW, **overrides})
    assert response.status_code == 400 and field in response.json(), response.content
    assert not ChangeRequest.objects.exists()


@pytest.mark.parametrize("body", [
    {"kind": "MARKING_CLOSE", "threshold": "100", "action": "ALERT", "params": {"window_minutes": 480}},
    {"kind": "WASH_TRADE", "threshold": "0.0001", "action": "ALERT", "params": {"window_days": 30}},
    {"kind": "LARGE_TRADE", "threshold": "25", "action": "ALERT", "params": {"adv_days": 5, "min_days": 5}},
    {"kind": "STRUCTURING", "threshold": "0.0001", "action": "ALERT", "params": {"min_count": 2, "near_pct": "100"}},
    {"kind": "PRICE_DEVIATION", "threshold": "100", "action": "ALERT"},
    {"kind": "POSITION_LIMIT", "threshold": "0.0001", "action": "HOLD"},
])
def test_the_limits_themselves_are_accepted(compliance_client, body):
    response = post(compliance_client, {"code": "edge", **body})
    assert response.status_code == 202, response.json()


def test_every_default_rule_is_valid_as_it_stands():
    for rule in ComplianceRule.objects.all():
        values = rule_values(rule_view(rule))
        assert values["params"].keys() >= set(rule.params), rule.code
