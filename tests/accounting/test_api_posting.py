# ruff: noqa: F811 - the fixtures imported from the helpers are parameters of the tests
"""The posting API: mark to market (API.md), posting and end-of-day runs, the rules and the backlog."""

from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from backoffice.core.jobs.models import JobRun
from tests.accounting.helpers_posting import books, firm  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_broker():
    with mock.patch("backoffice.core.jobs.services._enqueue"):
        yield


def test_mark_to_market_queues_a_run_as_of_a_date(accounting_client):
    answer = accounting_client.post("/api/v1/accounting/mark-to-market/", {"as_of": "2026-11-20"}, format="json")
    assert answer.status_code == 202, answer.content
    job = JobRun.objects.get(pk=answer.json()["id"])
    assert (job.kind, job.parameters["as_of"], job.status) == ("accounting-mark-to-market", "2026-11-20", "QUEUED")


@pytest.mark.parametrize("as_of", ["2026-13-01", "20261120", 5])
def test_mark_to_market_refuses_a_malformed_date(accounting_client, as_of):
    answer = accounting_client.post("/api/v1/accounting/mark-to-market/", {"as_of": as_of}, format="json")
    assert answer.status_code == 400 and "as_of" in answer.json()
    assert not JobRun.objects.exists()


def test_mark_to_market_refuses_a_future_date(accounting_client):
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    answer = accounting_client.post("/api/v1/accounting/mark-to-market/", {"as_of": tomorrow}, format="json")
    assert answer.status_code == 400 and "future" in answer.json()["as_of"][0]
    assert not JobRun.objects.exists()


def test_roles(fo_client, anon_client, compliance_client, ops_client):
    assert anon_client.post("/api/v1/accounting/mark-to-market/", {}, format="json").status_code == 401
    assert fo_client.post("/api/v1/accounting/mark-to-market/", {}, format="json").status_code == 403
    assert compliance_client.post("/api/v1/accounting/posting-runs/", {}, format="json").status_code == 403
    assert compliance_client.get("/api/v1/accounting/posting-runs/").status_code == 200
    assert ops_client.post("/api/v1/accounting/eod-runs/", {"as_of": "2026-11-20"}, format="json").status_code == 202


def test_posting_runs_list_and_start(accounting_client):
    answer = accounting_client.post("/api/v1/accounting/posting-runs/", {}, format="json")
    assert answer.status_code == 202 and answer.json()["kind"] == "accounting-posting"
    listed = accounting_client.get("/api/v1/accounting/posting-runs/?kind=accounting-posting").json()
    assert [run["id"] for run in listed["results"]] == [answer.json()["id"]]
    assert accounting_client.get("/api/v1/accounting/posting-runs/?kind=other").status_code == 400
    again = accounting_client.post("/api/v1/accounting/posting-runs/", {}, format="json")
    assert again.status_code == 409 and f"job {answer.json()['id']}" in again.json()["detail"]
    assert JobRun.objects.filter(kind="accounting-posting").count() == 1


def test_rules_and_backlog(accounting_client, books):
    books.book(("ACC-001", "BRKR-B", "AAPL", "BUY", "10", "100"))
    rules = accounting_client.get("/api/v1/accounting/posting-rules/").json()
    assert {"event": "TRADE_BUY", "leg": "purchase", "debit": "INVESTMENTS", "credit": "PAYABLE_PURCHASES",
            "amount": "quantity × price"} in rules
    backlog = accounting_client.get("/api/v1/accounting/posting-backlog/").json()
    assert backlog["trades"] == 1 and backlog["cash_movements"] == 0
