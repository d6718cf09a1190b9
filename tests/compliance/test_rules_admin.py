"""The compliance rules' admin: adding or changing a rule proposes it (maker-checker), a refusal shows on the form,
nothing is deleted, and the earlier versions show read-only under the rule."""

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse

from compliance.rules import services
from compliance.rules.kinds import RULE_CHANGE
from compliance.rules.models import ComplianceRule
from records.approvals.models import ChangeRequest
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(superuser):
    client = Client()
    client.force_login(superuser)
    return client


def form(rule: ComplianceRule | None = None, **overrides) -> dict:
    data = {"code": "new-qty", "name": "Quantity above 1M", "kind": "QUANTITY", "scope": "ALL", "scope_value": "",
            "threshold": "1000000", "params": "{}", "action": "HOLD", "severity": "LOW", "active": "on",
            "effective_from": "", "effective_to": "", "reason": "",
            "versions-TOTAL_FORMS": "0", "versions-INITIAL_FORMS": "0", "versions-MIN_NUM_FORMS": "0",
            "versions-MAX_NUM_FORMS": "1000"}
    if rule is not None:
        data.update({"name": rule.name, "kind": rule.kind, "scope": rule.scope, "scope_value": rule.scope_value,
                     "threshold": str(rule.threshold), "params": "{}", "action": rule.action,
                     "severity": rule.severity, "active": "on" if rule.active else ""})
        data["versions-TOTAL_FORMS"] = data["versions-INITIAL_FORMS"] = str(rule.versions.count())
    data.update(overrides)
    return {name: value for name, value in data.items() if value is not None}


def test_adding_a_rule_in_the_admin_proposes_it(admin):
    response = admin.post(reverse("admin:compliance_compliancerule_add"), form(reason="Fat finger"), follow=True)
    assert "Submitted for approval as change" in response.content.decode()
    assert not ComplianceRule.objects.filter(code="new-qty").exists()
    change = ChangeRequest.objects.get()
    assert (change.kind, change.payload["threshold"], change.payload["action"], change.reason) == (
        RULE_CHANGE, "1000000", "HOLD", "Fat finger")


def test_changing_a_rule_in_the_admin_proposes_only_what_changed(admin):
    rule = ComplianceRule.objects.get(code="notional-hold")
    response = admin.post(reverse("admin:compliance_compliancerule_change", args=[rule.pk]),
                          form(rule, threshold="60000000", severity="HIGH"), follow=True)
    assert "Submitted for approval" in response.content.decode(), response.content.decode()[:3000]
    rule.refresh_from_db()
    assert (rule.threshold, rule.version) == (50000000, 1)
    assert ChangeRequest.objects.get().payload == {"code": "notional-hold",
                                                   "changes": {"threshold": "60000000", "severity": "HIGH"}}
    # The form of a rule with a change pending says so.
    page = admin.get(reverse("admin:compliance_compliancerule_change", args=[rule.pk]))
    assert "awaits approval" in page.content.decode()


@pytest.mark.parametrize(("overrides", "message"), [
    ({"threshold": ""}, "needs a threshold"),
    ({"kind": "WASH_TRADE", "threshold": "1"}, "only raises alerts"),
    ({"params": '{"window_days": 3}'}, "Unknown parameter"),
    ({"scope": "ACCOUNT", "scope_value": "NOPE"}, "Unknown account"),
    ({"code": "bad code"}, "A rule code"),
])
def test_a_refused_rule_shows_on_the_admin_form(admin, overrides, message):
    response = admin.post(reverse("admin:compliance_compliancerule_add"), form(**overrides))
    assert response.status_code == 200 and message in response.content.decode()
    assert not ChangeRequest.objects.exists()


def test_versions_show_read_only_and_nothing_is_deleted(admin):
    rule = ComplianceRule.objects.get(code="quantity-reject")
    with transaction.atomic():
        services.rule_update(actor=make_user("checker", "compliance"), code_or_id=rule.pk,
                             changes={"threshold": "40000000"}, reason="lower")
    page = admin.get(reverse("admin:compliance_compliancerule_change", args=[rule.pk])).content.decode()
    assert "lower" in page and "50000000" in page
    assert admin.get(reverse("admin:compliance_compliancerule_changelist")).status_code == 200
    assert admin.post(reverse("admin:compliance_compliancerule_delete", args=[rule.pk]),
                      {"post": "yes"}).status_code == 403
    assert ComplianceRule.objects.filter(pk=rule.pk).exists()
