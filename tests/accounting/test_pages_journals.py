"""The journal pages: the list (filters, keyset pages, totals), one entry (lines, links), the manual-entry form."""

from datetime import date

import pytest
from django.test import Client
from django.urls import reverse

from accounting.models import JournalEntry, Period
from records.approvals.models import ChangeRequest
from tests.accounting.factories import post_entry
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

DAY = date(2026, 11, 16)


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def accountant(accounting_user):
    return browser(accounting_user)


def test_pages_need_a_login_and_a_role(client, front_office_user, operations_user):
    for name in ("accounting:journal-entries", "accounting:manual-entry"):
        assert client.get(reverse(name)).status_code == 302
    assert browser(front_office_user).get(reverse("accounting:journal-entries")).status_code == 403
    assert browser(operations_user).get(reverse("accounting:journal-entries")).status_code == 200
    assert browser(operations_user).get(reverse("accounting:manual-entry")).status_code == 403


def test_the_list_shows_entries_with_their_lines_and_filters_them(accountant, accounts):
    trade = post_entry(lines=[("INVESTMENTS", "1892.5"), ("PAYABLE_PURCHASES", "-1892.5")], entry_date=DAY,
                       source_type="TRADE", source_id=42, rule="TRADE_BUY", account=accounts["ACC-001"])
    cash = post_entry(lines=[("CASH", "100"), ("ACCOUNT_FUNDS", "-100")], entry_date=DAY, source_type="CASH",
                      source_id=7, rule="CASH_FUNDS")
    page = accountant.get(reverse("accounting:journal-entries")).content.decode()
    assert "TRADE:42" in page and "CASH:7" in page and "1,892.50" in page
    page = accountant.get(reverse("accounting:journal-entries") + "?source=TRADE:42").content.decode()
    assert f'href="{reverse("accounting:journal-entry", args=[trade.pk])}"' in page
    assert f'href="{reverse("accounting:journal-entry", args=[cash.pk])}"' not in page
    assert "Totals of the entries that match" in page
    page = accountant.get(reverse("accounting:journal-entries") + "?source=NOPE").content.decode()
    assert "No journal entries match" in page


def test_the_list_pages_by_keyset(accountant):
    entries = [post_entry(lines=[("CASH", "1"), ("ACCOUNT_FUNDS", "-1")], entry_date=DAY) for _ in range(51)]
    response = accountant.get(reverse("accounting:journal-entries"))
    assert len(response.context["page"].rows) == 50 and response.context["page"].older_before == entries[1].pk
    older = accountant.get(reverse("accounting:journal-entries") + f"?before={entries[1].pk}")
    assert [entry.pk for entry in older.context["page"].rows] == [entries[0].pk]


def test_an_entry_links_to_its_source_trade(accountant, accounts):
    entry = post_entry(lines=[("INVESTMENTS", "10"), ("PAYABLE_PURCHASES", "-10")], entry_date=DAY,
                       source_type="TRADE", source_id=42, rule="TRADE_BUY")
    page = accountant.get(reverse("accounting:journal-entry", args=[entry.pk])).content.decode()
    assert f'href="{reverse("records:trade-detail", args=[42])}"' in page
    assert "Investments at cost" in page
    assert "Propose its reversal" not in page  # the engine's entries are corrected at their source
    assert accountant.get(reverse("accounting:journal-entry", args=[999999])).status_code == 404


def test_a_manual_entry_is_proposed_from_the_form(accountant):
    form = {"entry_date": "2026-11-16", "currency": "USD", "description": "audit fee", "account": "",
            "reason": "November", "lines-TOTAL_FORMS": "6", "lines-INITIAL_FORMS": "0",
            "lines-0-gl_account": "5100", "lines-0-debit": "250", "lines-1-gl_account": "2150",
            "lines-1-credit": "250"}
    response = accountant.post(reverse("accounting:manual-entry"), form)
    assert response.status_code == 302
    change = ChangeRequest.objects.get()
    assert change.kind == "journal.manual" and len(change.payload["lines"]) == 2
    assert JournalEntry.objects.count() == 0


def test_an_unbalanced_manual_entry_shows_why_and_proposes_nothing(accountant):
    Period.objects.create(start=date(2026, 10, 1), end=date(2026, 10, 31), status=Period.Status.CLOSED)
    form = {"entry_date": "2026-10-16", "currency": "USD", "description": "audit fee", "reason": "x",
            "lines-TOTAL_FORMS": "6", "lines-INITIAL_FORMS": "0",
            "lines-0-gl_account": "5100", "lines-0-debit": "250", "lines-2-gl_account": "2150",
            "lines-2-credit": "240"}
    response = accountant.post(reverse("accounting:manual-entry"), form)
    assert response.status_code == 400
    page = response.content.decode()
    assert "do not balance" in page and "The period 2026-10 is closed" in page
    assert ChangeRequest.objects.count() == 0


def test_a_manual_entry_is_reversed_from_its_page(accountant, accounting_user):
    checker = make_user("checker", "accounting")
    from records.approvals import services as approvals
    change = approvals.change_propose(actor=accounting_user, kind="journal.manual", reason="x", payload={
        "entry_date": "2026-11-16", "currency": "USD", "description": "fee",
        "lines": [{"gl_account": "5100", "debit": "1"}, {"gl_account": "2150", "credit": "1"}]})
    approvals.change_approve(actor=checker, change_id=change.pk)
    entry = JournalEntry.objects.get()
    page = accountant.get(reverse("accounting:journal-entry", args=[entry.pk])).content.decode()
    assert "Propose its reversal" in page and f"record_id={change.pk}" in page
    response = accountant.post(reverse("accounting:journal-entry-reverse", args=[entry.pk]), {"reason": "twice"})
    assert response.status_code == 302
    assert ChangeRequest.objects.filter(kind="journal.reversal", target_id=str(entry.pk)).exists()
