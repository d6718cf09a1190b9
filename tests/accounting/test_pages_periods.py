"""The periods page: 24 months with status and figures, closing (at once) and reopening (proposed)."""

from datetime import date

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounting.models import Period
from records.approvals.models import ChangeRequest

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _today(monkeypatch):
    monkeypatch.setattr(timezone, "localdate", lambda *args: date(2026, 11, 18))


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_page_lists_24_months_and_closes_and_proposes_reopening(accounting_user):
    client = browser(accounting_user)
    response = client.get(reverse("accounting:periods"))
    assert response.status_code == 200 and len(response.context["rows"]) == 24
    assert client.post(reverse("accounting:period-close", args=["2026-10"])).status_code == 302
    assert Period.objects.get(start=date(2026, 10, 1)).status == "CLOSED"
    response = client.post(reverse("accounting:period-close", args=["2026-10"]), follow=True)
    assert "already closed" in response.content.decode()
    client.post(reverse("accounting:period-reopen", args=["2026-10"]), {"reason": "late invoice"})
    assert ChangeRequest.objects.get().kind == "period.reopen"
    assert "Reopening awaits approval" in client.get(reverse("accounting:periods")).content.decode()
    assert Period.objects.get(start=date(2026, 10, 1)).status == "CLOSED"


def test_reopening_an_open_month_shows_why(accounting_user):
    response = browser(accounting_user).post(reverse("accounting:period-reopen", args=["2026-09"]),
                                             {"reason": "x"}, follow=True)
    assert "is open: there is nothing to reopen" in response.content.decode()
    assert ChangeRequest.objects.count() == 0


def test_the_page_needs_a_login_and_acting_needs_accounting(client, operations_user):
    assert client.get(reverse("accounting:periods")).status_code == 302
    ops = browser(operations_user)
    assert ops.get(reverse("accounting:periods")).status_code == 200
    assert ops.post(reverse("accounting:period-close", args=["2026-10"])).status_code == 403
    assert not Period.objects.exists()
