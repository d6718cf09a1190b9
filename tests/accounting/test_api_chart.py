"""The chart of accounts over the API: list and detail; new accounts and changes proposed (202)."""

from datetime import date

import pytest

from accounting.models import GLAccount
from records.approvals.models import ChangeRequest
from tests.accounting.factories import post_entry
from tests.conftest import client_for, make_user

pytestmark = pytest.mark.django_db

URL = "/api/v1/accounting/gl-accounts/"


def test_the_chart_lists_by_code_filtered_by_type_and_search(accounting_client, compliance_client):
    body = accounting_client.get(URL).json()
    assert body["count"] == GLAccount.objects.count() and body["results"][0]["code"] == "1000"
    cash = next(row for row in body["results"] if row["code"] == "1100")
    assert {k: cash[k] for k in ("name", "type", "parent", "role", "is_monetary", "is_active")} == {
        "name": "Cash at banks and depositories", "type": "ASSET", "parent": "1000", "role": "CASH",
        "is_monetary": True, "is_active": True}
    assert [row["code"] for row in accounting_client.get(URL + "?type=EXPENSE").json()["results"]] == [
        "5000", "5100", "5200"]
    assert [row["code"] for row in compliance_client.get(URL + "?search=penalt").json()["results"]] == [
        "1250", "2200", "4300", "5200"]
    assert accounting_client.get(URL + "?type=COST").status_code == 400


def test_one_account_shows_its_lines_and_base_balance(accounting_client):
    post_entry(lines=[("CASH", "100.25"), ("ACCOUNT_FUNDS", "-100.25")], entry_date=date(2026, 11, 16))
    body = accounting_client.get(f"{URL}1100/").json()
    assert (body["code"], body["lines"], body["balance"]) == ("1100", 1, "100.25")
    assert accounting_client.get(f"{URL}9999/").status_code == 404


def test_a_new_account_is_proposed_202_and_added_when_another_user_approves(accounting_client):
    response = accounting_client.post(URL, {"code": "5300", "name": "Exchange fees", "type": "EXPENSE",
                                            "parent": "5000", "reason": "fees of XETR"}, format="json")
    assert response.status_code == 202, response.json()
    change = response.json()
    assert (change["kind"], change["target_id"], change["status"]) == ("glaccount.change", "5300", "PENDING")
    assert not GLAccount.objects.filter(code="5300").exists()
    checker = client_for(make_user("checker", "accounting"))
    assert checker.post(f"/api/v1/approvals/{change['id']}/approve/", {}, format="json").json()["status"] == "APPROVED"
    assert GLAccount.objects.get(code="5300").parent.code == "5000"


def test_a_change_is_proposed_202_with_its_before(accounting_client):
    response = accounting_client.patch(f"{URL}5200/", {"name": "CSDR penalties"}, format="json")
    assert response.status_code == 202
    assert response.json()["before"]["name"] == "Fail penalty expense"
    assert response.json()["payload"] == {"code": "5200", "changes": {"name": "CSDR penalties"}}
    assert GLAccount.objects.get(code="5200").name == "Fail penalty expense"
    assert accounting_client.patch(f"{URL}5200/", {"name": "Other"}, format="json").status_code == 409


@pytest.mark.parametrize("method, path, body, field", [
    ("post", "", {"code": "1100", "name": "x", "type": "ASSET"}, "code"),
    ("post", "", {"code": "5300", "name": "x", "type": "EXPENSE", "parent": "1000"}, "parent"),
    ("post", "", {"code": "5300", "name": "x", "type": "EXPENSE", "role": "CASH"}, "role"),
    ("post", "", {"code": "5300", "name": "x", "type": "EXPENSE", "role": "NOT_A_RULE"}, "role"),
    ("post", "", {"code": "5300", "name": "x", "type": "EXPENSE", "is_active": "yes"}, "is_active"),
    ("post", "", ["not", "an", "object"], "non_field_errors"),
    ("patch", "5000/", {"parent": "5000"}, "parent"),
    ("patch", "5000/", {"type": "ASSET"}, "type"),
])
def test_a_proposal_breaking_a_rule_is_400_at_its_field(accounting_client, method, path, body, field):
    response = getattr(accounting_client, method)(URL + path, body, format="json")
    assert response.status_code == 400 and field in response.json(), response.json()
    assert ChangeRequest.objects.count() == 0


def test_a_role_change_on_an_account_with_lines_is_400(accounting_client):
    post_entry(lines=[("CASH", "1"), ("ACCOUNT_FUNDS", "-1")], entry_date=date(2026, 11, 16))
    response = accounting_client.patch(f"{URL}1100/", {"role": None}, format="json")
    assert response.status_code == 400 and "has journal lines" in response.json()["role"][0]


def test_roles(anon_client, fo_client, ops_client):
    assert anon_client.get(URL).status_code == 401
    assert fo_client.get(URL).status_code == 403
    assert ops_client.get(URL).status_code == 200
    assert ops_client.post(URL, {"code": "5300", "name": "x", "type": "EXPENSE"}, format="json").status_code == 403
    assert ops_client.patch(f"{URL}5200/", {"name": "x"}, format="json").status_code == 403
