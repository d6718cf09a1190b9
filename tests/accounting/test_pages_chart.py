"""The chart of accounts page: the tree with its figures, and proposals from its form."""

from datetime import date

import pytest
from django.test import Client
from django.urls import reverse

from accounting.models import GLAccount
from records.approvals.models import ChangeRequest
from tests.accounting.factories import post_entry

pytestmark = pytest.mark.django_db


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_chart_shows_the_tree_with_lines_and_balances(accounting_user):
    post_entry(lines=[("CASH", "1234.5"), ("ACCOUNT_FUNDS", "-1234.5")], entry_date=date(2026, 11, 16))
    response = browser(accounting_user).get(reverse("accounting:chart"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Cash at banks and depositories" in page and "1,234.50" in page and "Propose a new account" in page


def test_the_chart_needs_a_login_and_a_role(client, front_office_user, compliance_user):
    assert client.get(reverse("accounting:chart")).status_code == 302
    assert browser(front_office_user).get(reverse("accounting:chart")).status_code == 403
    page = browser(compliance_user).get(reverse("accounting:chart")).content.decode()
    assert "Propose a new account" not in page
    assert browser(compliance_user).post(reverse("accounting:chart-propose"), {}).status_code == 403


def test_a_new_account_and_a_change_are_proposed_from_the_form(accounting_user):
    client = browser(accounting_user)
    response = client.post(reverse("accounting:chart-propose"), {
        "code": "5300", "name": "Exchange fees", "type": "EXPENSE", "parent": "5000", "role": "",
        "is_monetary": "on", "is_active": "on", "reason": "XETR fees"})
    assert response.status_code == 302
    assert ChangeRequest.objects.get().payload["code"] == "5300"
    assert "Propose a change to 5200" in client.get(reverse("accounting:chart") + "?change=5200").content.decode()
    response = client.post(reverse("accounting:chart-propose"), {
        "changing": "5200", "name": "CSDR penalties", "parent": "5000", "role": "PENALTY_EXPENSE",
        "is_active": "on", "reason": "rename"})
    assert response.status_code == 302
    change = ChangeRequest.objects.get(target_id="5200")
    assert change.payload == {"code": "5200", "changes": {"name": "CSDR penalties"}}
    assert not GLAccount.objects.filter(code="5300").exists()


def test_a_refused_proposal_shows_on_the_form(accounting_user):
    response = browser(accounting_user).post(reverse("accounting:chart-propose"), {
        "code": "1100", "name": "Cash again", "type": "ASSET", "reason": "x"})
    assert response.status_code == 400 and "GL account 1100 already exists." in response.content.decode()
    assert ChangeRequest.objects.count() == 0
