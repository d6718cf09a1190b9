# ruff: noqa: F811 - the fixtures imported from helpers_settlement are parameters of the tests
"""The settlement runs API (API.md "Settlements"): start a run, follow it; roles; bad input is a 400 naming the
field, never a 500; a second run of a queued date is a 409."""

import json

import pytest

from settlements.models import SettlementRun
from tests.conftest import client_for
from tests.settlements.helpers_settlement import (  # noqa: F401
    book_and_instruct,
    firm,
    fund,
    funded,
    own_steps_only,
    settle,
)

pytestmark = pytest.mark.django_db
RUNS = "/api/v1/settlements/runs/"


def post(client, url, data):
    return client.post(url, data=json.dumps(data), content_type="application/json")


@pytest.fixture
def ops(firm):
    return client_for(firm.ops)


def _day(firm):
    fund(firm, "ACC-001", "5000")
    fund(firm, "HOUSE", "100", "EUR")
    return book_and_instruct(firm, ("ACC-001", "BRKR-B", "AAPL", "BUY", "100", "10.25"),
                             ("HOUSE", "BRKR-B", "MSFT", "SELL", "40", "20"),
                             ("ACC-001", "NSCC", "MSFT", "BUY", "100", "50"), allow_partial=False)


def test_starting_a_run_answers_202_with_the_queued_run_and_the_worker_settles_it(
        firm, ops, django_capture_on_commit_callbacks):
    _day(firm)
    with django_capture_on_commit_callbacks(execute=True) as queued:
        response = post(ops, RUNS, {"settlement_date": "2026-11-23"})

    assert response.status_code == 202, response.content
    run = SettlementRun.objects.get()
    body = response.json()
    assert {key: body[key] for key in ("id", "settlement_date", "kind", "status", "progress", "job", "steps",
                                       "started_by", "settled", "partial", "failed", "error")} == {
        "id": run.pk, "settlement_date": "2026-11-23", "kind": "RUN", "status": "QUEUED", "progress": 0.0,
        "job": run.job_id, "steps": [], "started_by": "netter", "settled": 0, "partial": 0, "failed": 0, "error": ""}
    assert len(queued) == 1

    detail = ops.get(f"{RUNS}{run.pk}/").json()
    assert {key: detail[key] for key in ("status", "progress", "settled", "partial", "failed", "steps")} == {
        "status": "COMPLETED", "progress": 1.0, "settled": 1, "partial": 0, "failed": 2,
        "steps": [{"name": "settle", "chunks": 1, "done": 1}]}
    # ACC-001 can pay 6,000 (5,000 and its credit limit): the MSFT receipt (5,000) comes first (same date and
    # direction, lower id), the AAPL one (1,025) fails; HOUSE holds no MSFT to deliver.
    assert detail["by_currency"] == [{"currency": "USD", "movements": 1, "paid": "5000.00", "received": "0.00",
                                      "delivered": "0", "received_quantity": "100"}]


def test_runs_list_newest_first_filtered_by_date_and_status(firm, ops):
    first, second = settle(), settle()
    listed = ops.get(RUNS).json()
    assert [r["id"] for r in listed["results"]] == [second.pk, first.pk]
    assert ops.get(RUNS, {"settlement_date": "2026-11-24"}).json()["count"] == 0
    assert ops.get(RUNS, {"status": "COMPLETED", "settlement_date": "2026-11-23"}).json()["count"] == 2
    assert ops.get(RUNS, {"status": "FAILED"}).json()["count"] == 0


@pytest.mark.parametrize("body, field, message", [
    ({"settlement_date": "2026-11-21"}, "settlement_date", "2026-11-21 is not a settlement day of any market."),
    ({"settlement_date": "2026-11-2"}, "settlement_date", None),
    ({"settlement_date": "20261123"}, "settlement_date", None),
    ({"settlement_date": "2026-02-30"}, "settlement_date", None),
    ({"settlement_date": 20261123}, "settlement_date", None),
    ({"settlement_date": None}, "settlement_date", None),
    ({"settlement_date": ["2026-11-23"]}, "settlement_date", None),
    ({}, "settlement_date", None),
    (["2026-11-23"], "non_field_errors", None),
])
def test_bad_input_is_a_400_naming_the_field_and_starts_nothing(firm, ops, body, field, message):
    response = post(ops, RUNS, body)
    assert response.status_code == 400, response.content
    assert list(response.json()) == [field]
    if message:
        assert response.json() == {field: [message]}
    assert not SettlementRun.objects.exists()


def test_a_body_that_is_not_json_is_a_400(firm, ops):
    response = ops.post(RUNS, data="settlement_date=2026-11-23{", content_type="application/json")
    assert response.status_code == 400 and not SettlementRun.objects.exists()


@pytest.mark.parametrize("query", [{"settlement_date": "2026-13-01"}, {"settlement_date": ""}, {"status": "DONE"},
                                   {"page_size": "x"}, {"page": "0"}])
def test_malformed_filters_are_a_400_or_404_never_a_500(firm, ops, query):
    assert ops.get(RUNS, query).status_code in (400, 404)


def test_a_second_run_while_one_is_queued_is_a_409(firm, ops):
    assert post(ops, RUNS, {"settlement_date": "2026-11-23"}).status_code == 202
    response = post(ops, RUNS, {"settlement_date": "2026-11-23"})
    run = SettlementRun.objects.get()
    assert (response.status_code, response.json()) == (
        409, {"detail": f"Settlement run {run.pk} for 2026-11-23 is QUEUED: wait for it to finish."})


def test_roles_operations_starts_runs_the_back_office_reads_front_office_does_neither(
        firm, compliance_client, accounting_client, anon_client):
    run = settle()
    front_office = client_for(firm.maker)
    for client in (compliance_client, accounting_client):
        assert client.get(RUNS).status_code == 200
        assert client.get(f"{RUNS}{run.pk}/").status_code == 200
        assert post(client, RUNS, {"settlement_date": "2026-11-24"}).status_code == 403
    for url in (RUNS, f"{RUNS}{run.pk}/"):
        assert front_office.get(url).status_code == 403
        assert anon_client.get(url).status_code == 401
    assert post(front_office, RUNS, {"settlement_date": "2026-11-24"}).status_code == 403
    assert SettlementRun.objects.count() == 1


def test_unknown_runs_are_404(firm, ops):
    assert ops.get(f"{RUNS}999999/").status_code == 404
    assert ops.get(f"{RUNS}x/").status_code == 404
