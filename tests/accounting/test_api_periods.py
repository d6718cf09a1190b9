"""Periods over the API: close at once (200, 409 when closed), reopen proposed (202, 409 when open)."""

from datetime import date

import pytest
from django.utils import timezone

from accounting.models import Period
from records.approvals.models import ChangeRequest
from tests.conftest import client_for, make_user

pytestmark = pytest.mark.django_db

URL = "/api/v1/accounting/periods/"


@pytest.fixture(autouse=True)
def _today(monkeypatch):
    monkeypatch.setattr(timezone, "localdate", lambda *args: date(2026, 11, 18))


def test_closing_a_month_answers_the_period_and_closing_it_again_is_409(accounting_client):
    response = accounting_client.post(f"{URL}2026-10/close/", {"reason": "books done"}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert {k: body[k] for k in ("month", "start", "end", "status", "closed_by")} == {
        "month": "2026-10", "start": "2026-10-01", "end": "2026-10-31", "status": "CLOSED", "closed_by": "acct"}
    again = accounting_client.post(f"{URL}2026-10/close/", format="json")
    assert again.status_code == 409 and "already closed" in again.json()["detail"]
    assert [row["month"] for row in accounting_client.get(URL).json()["results"]] == ["2026-10"]
    assert accounting_client.get(f"{URL}2026-10/").json()["status"] == "CLOSED"
    assert accounting_client.get(f"{URL}2026-09/").json()["status"] == "OPEN"


def test_a_future_or_impossible_month_is_400_and_a_malformed_one_404(accounting_client):
    assert accounting_client.post(f"{URL}2026-12/close/", format="json").status_code == 400
    assert accounting_client.post(f"{URL}2026-13/close/", format="json").status_code == 400
    assert accounting_client.post(f"{URL}2026-1/close/", format="json").status_code == 404
    assert not Period.objects.exists()


def test_reopening_is_proposed_202_applied_by_another_user_and_409_when_open(accounting_client):
    assert accounting_client.post(f"{URL}2026-10/reopen/", {"reason": "late invoice"},
                                  format="json").status_code == 409
    accounting_client.post(f"{URL}2026-10/close/", format="json")
    response = accounting_client.post(f"{URL}2026-10/reopen/", {"reason": "late invoice"}, format="json")
    assert response.status_code == 202 and response.json()["kind"] == "period.reopen"
    assert accounting_client.post(f"{URL}2026-10/reopen/", {"reason": "again"}, format="json").status_code == 409
    change_id = response.json()["id"]
    assert accounting_client.post(f"/api/v1/approvals/{change_id}/approve/", {}, format="json").status_code == 403
    assert Period.objects.get(start=date(2026, 10, 1)).status == "CLOSED"
    checker = client_for(make_user("checker", "accounting"))
    assert checker.post(f"/api/v1/approvals/{change_id}/approve/", {}, format="json").json()["status"] == "APPROVED"
    assert Period.objects.get(start=date(2026, 10, 1)).status == "OPEN"


def test_roles(anon_client, ops_client, compliance_client, fo_client):
    assert anon_client.get(URL).status_code == 401
    assert fo_client.get(URL).status_code == 403
    assert ops_client.get(URL).status_code == 200 and compliance_client.get(URL).status_code == 200
    assert ops_client.post(f"{URL}2026-10/close/", format="json").status_code == 403
    assert compliance_client.post(f"{URL}2026-10/reopen/", format="json").status_code == 403
    assert not Period.objects.exists() and not ChangeRequest.objects.exists()
