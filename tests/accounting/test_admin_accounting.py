"""The accounting admin: GL accounts proposed under maker-checker, the ledger read-only."""

from datetime import date

import pytest
from django.test import Client
from django.urls import reverse

from accounting.models import GLAccount
from records.approvals.models import ChangeRequest
from tests.accounting.factories import post_entry

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(superuser):
    client = Client()
    client.force_login(superuser)
    return client


def test_adding_a_gl_account_in_the_admin_proposes_it(admin):
    response = admin.post(reverse("admin:accounting_glaccount_add"), {
        "code": "5300", "name": "Exchange fees", "type": "EXPENSE", "parent": GLAccount.objects.get(code="5000").pk,
        "role": "", "is_monetary": "on", "is_active": "on", "reason": "XETR fees"}, follow=True)
    assert response.status_code == 200
    assert "Submitted for approval as change" in response.content.decode()
    assert not GLAccount.objects.filter(code="5300").exists()
    change = ChangeRequest.objects.get()
    assert (change.kind, change.payload["parent"], change.reason) == ("glaccount.change", "5000", "XETR fees")


def test_changing_a_gl_account_in_the_admin_proposes_the_change(admin):
    account = GLAccount.objects.get(code="5200")
    response = admin.post(reverse("admin:accounting_glaccount_change", args=[account.pk]), {
        "name": "CSDR penalties", "parent": account.parent_id, "role": "PENALTY_EXPENSE", "is_active": "on",
        "reason": ""}, follow=True)
    assert "Submitted for approval" in response.content.decode()
    account.refresh_from_db()
    assert account.name == "Fail penalty expense"
    assert ChangeRequest.objects.get().payload == {"code": "5200", "changes": {"name": "CSDR penalties"}}


def test_a_refused_gl_account_shows_on_the_admin_form(admin):
    response = admin.post(reverse("admin:accounting_glaccount_add"), {
        "code": "5300", "name": "x", "type": "EXPENSE", "parent": GLAccount.objects.get(code="1000").pk,
        "is_active": "on", "reason": ""})
    assert response.status_code == 200 and "the parent of a expense account has its type" in response.content.decode()
    assert ChangeRequest.objects.count() == 0


def test_the_ledger_is_read_only_in_the_admin(admin):
    entry = post_entry(lines=[("CASH", "1"), ("ACCOUNT_FUNDS", "-1")], entry_date=date(2026, 11, 16))
    for name in ("journalentry", "period", "costlot", "postingstate", "reconciliationrun", "reconciliationbreak"):
        assert admin.get(reverse(f"admin:accounting_{name}_changelist")).status_code == 200
        assert admin.get(reverse(f"admin:accounting_{name}_add")).status_code == 403
    page = admin.get(reverse("admin:accounting_journalentry_change", args=[entry.pk]))
    assert page.status_code == 200 and "Cash at banks" in page.content.decode()
    assert admin.post(reverse("admin:accounting_journalentry_delete", args=[entry.pk]), {"post": "yes"}).status_code \
        == 403
