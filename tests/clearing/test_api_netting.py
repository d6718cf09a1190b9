# ruff: noqa: F811 - the fixtures imported from helpers_netting are parameters of the tests
"""The netting API (API.md "Clearing"): start a run, follow it, read its obligations; roles; bad input is a 400
naming the field, never a 500; and a netted trade can no longer be amended or cancelled through the trades API."""

import json

import pytest

from clearing.models import ClearingRun, NettedTrade, Obligation
from records.audit.models import AuditRecord
from records.trades.models import Trade, TradeEvent, TradeVersion
from tests.clearing.helpers_netting import SETTLES, firm, net, netting_alone, state  # noqa: F401
from tests.conftest import APPLE, MICROSOFT, client_for

pytestmark = pytest.mark.django_db
RUNS = "/api/v1/clearing/runs/"
OBLIGATIONS = "/api/v1/clearing/obligations/"


def post(client, url, data):
    return client.post(url, data=json.dumps(data), content_type="application/json")


@pytest.fixture
def ops(firm):
    return client_for(firm.ops)


def _book_day(firm):
    """Two keys: ACC-001 with BRKR-B in AAPL (three trades), HOUSE with the CCP in MSFT (one novated, one direct)."""
    ids = firm.book(("ACC-001", "BRKR-B", "AAPL", "BUY", "100", "189.25"),
                    ("ACC-001", "BRKR-B", "AAPL", "SELL", "30", "190.10"),
                    ("ACC-001", "BRKR-B", "AAPL", "BUY", "5.5", "189.3333"),
                    ("HOUSE", "BRKR-A", "MSFT", "BUY", "50", "415.10"),
                    ("HOUSE", "NSCC", "MSFT", "SELL", "20", "416"))
    firm.match([ids[3]])
    return ids


def test_starting_a_run_answers_202_with_the_queued_run_and_the_worker_completes_it(firm, ops,
                                                                                   django_capture_on_commit_callbacks):
    _book_day(firm)
    with django_capture_on_commit_callbacks(execute=True) as queued:
        response = post(ops, RUNS, {"settlement_date": "2026-11-23"})

    assert response.status_code == 202, response.content
    run = ClearingRun.objects.get()
    body = response.json()
    assert {key: body[key] for key in ("id", "settlement_date", "status", "progress", "job", "steps", "started_by",
                                       "trades_netted", "obligations_created", "efficiency", "error")} == {
        "id": run.pk, "settlement_date": "2026-11-23", "status": "QUEUED", "progress": 0.0, "job": run.job_id,
        "steps": [], "started_by": "netter", "trades_netted": 0, "obligations_created": 0,
        "efficiency": {"by_count": None, "by_value": None}, "error": ""}
    assert len(queued) == 1  # the job, queued once the run committed

    detail = ops.get(f"{RUNS}{run.pk}/").json()
    assert {key: detail[key] for key in ("status", "progress", "trades_netted", "obligations_created",
                                         "gross_quantity", "net_quantity", "gross_value", "net_value",
                                         "efficiency", "error")} == {
        "status": "COMPLETED", "progress": 1.0, "trades_netted": 5, "obligations_created": 2,
        "gross_quantity": "205.5", "net_quantity": "105.5",
        # 25,669.3332 + 20,755 + 8,320 gross; 14,263.3332 + 12,435 net (USD only)
        "gross_value": "54744.3332", "net_value": "26698.3332",
        "efficiency": {"by_count": "0.6000", "by_value": "0.5123"}, "error": ""}
    assert detail["steps"] == [{"name": "net", "chunks": 1, "done": 1}, {"name": "summarize", "chunks": 1, "done": 1}]
    assert detail["by_currency"] == [{
        "currency": "USD", "trades": 5, "obligations": 2, "gross_value": "54744.3332", "net_value": "26698.3332",
        "pay": "26698.3332", "receive": "0.00", "gross_quantity": "205.5", "net_quantity": "105.5",
        "efficiency": {"by_count": "0.6000", "by_value": "0.5123"}}]


def test_obligations_answer_the_fields_of_api_md_with_amounts_in_minor_units(firm, ops):
    trade_ids = _book_day(firm)
    run = net()

    results = ops.get(OBLIGATIONS, {"account": "ACC-001"}).json()["results"]

    o = Obligation.objects.get(account__code="ACC-001")
    assert results == [{
        "id": o.pk, "account": "ACC-001", "counterparty": "BRKR-B", "instrument": APPLE,
        "settlement_date": "2026-11-23", "currency": "USD", "net_quantity": "75.5", "net_cash": "-14263.3332",
        "trade_count": 3, "status": "OPEN", "run": run.pk, "buy_quantity": "105.5", "sell_quantity": "30",
        "buy_value": "19966.3332", "sell_value": "5703.00", "created_at": results[0]["created_at"]}]
    novated = ops.get(OBLIGATIONS, {"counterparty": "NSCC"}).json()["results"]
    assert [(r["account"], r["instrument"], r["net_quantity"], r["net_cash"], r["trade_count"]) for r in novated] == [
        ("HOUSE", MICROSOFT, "30", "-12435.00", 2)]
    detail = ops.get(f"{OBLIGATIONS}{novated[0]['id']}/").json()
    assert detail["trades"] == sorted(trade_ids[3:]) and detail["counterparty"] == "NSCC"


@pytest.mark.parametrize("query, expected", [
    ({"settlement_date": "2026-11-23"}, 2), ({"settlement_date": "2026-11-24"}, 0), ({"instrument": APPLE}, 1),
    ({"instrument": "AAPL"}, 0), ({"counterparty": "BRKR-A"}, 0), ({"account": "NOPE"}, 0), ({"status": "OPEN"}, 2),
])
def test_obligations_filter_by_date_account_counterparty_instrument_and_status(firm, ops, query, expected):
    _book_day(firm)
    net()
    response = ops.get(OBLIGATIONS, query)
    assert response.status_code == 200 and response.json()["count"] == expected


def test_runs_list_newest_first_filtered_by_date_and_status(firm, ops):
    _book_day(firm)
    first, second = net(), net()
    listed = ops.get(RUNS).json()
    assert [r["id"] for r in listed["results"]] == [second.pk, first.pk]
    assert [r["trades_netted"] for r in listed["results"]] == [0, 5]
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
    ({}, "settlement_date", None),
    (["2026-11-23"], "non_field_errors", None),
])
def test_bad_input_is_a_400_naming_the_field_and_starts_nothing(firm, ops, body, field, message):
    response = post(ops, RUNS, body)
    assert response.status_code == 400, response.content
    assert list(response.json()) == [field]
    if message:
        assert response.json() == {field: [message]}
    assert not ClearingRun.objects.exists()


@pytest.mark.parametrize("query", [{"settlement_date": "2026-13-01"}, {"settlement_date": ""}, {"status": "DONE"},
                                   {"page_size": "x"}])
def test_malformed_filters_are_a_400(firm, ops, query):
    assert ops.get(RUNS, query).status_code == 400
    if "status" not in query:
        assert ops.get(OBLIGATIONS, query).status_code == 400


def test_malformed_obligation_filters_are_a_400(firm, ops):
    for query in ({"run": "x"}, {"status": "PAID"}, {"settlement_date": "23/11/2026"}):
        assert ops.get(OBLIGATIONS, query).status_code == 400, query


def test_a_second_run_while_one_is_queued_is_a_409(firm, ops):
    assert post(ops, RUNS, {"settlement_date": "2026-11-23"}).status_code == 202
    response = post(ops, RUNS, {"settlement_date": "2026-11-23"})
    run = ClearingRun.objects.get()
    assert (response.status_code, response.json()) == (
        409, {"detail": f"Clearing run {run.pk} for 2026-11-23 is QUEUED: wait for it to finish."})


def test_roles_operations_starts_runs_the_back_office_reads_front_office_does_neither(
        firm, front_office_client, compliance_client, accounting_client, anon_client):
    run = net()
    for client in (compliance_client, accounting_client):
        assert client.get(RUNS).status_code == 200
        assert client.get(f"{RUNS}{run.pk}/").status_code == 200
        assert client.get(OBLIGATIONS).status_code == 200
        assert post(client, RUNS, {"settlement_date": "2026-11-24"}).status_code == 403
    for url in (RUNS, f"{RUNS}{run.pk}/", OBLIGATIONS):
        assert front_office_client.get(url).status_code == 403
        assert anon_client.get(url).status_code == 401
    assert post(front_office_client, RUNS, {"settlement_date": "2026-11-24"}).status_code == 403
    assert ClearingRun.objects.count() == 1


@pytest.fixture
def front_office_client(firm):
    return client_for(firm.maker)


def test_unknown_runs_and_obligations_are_404(firm, ops):
    assert ops.get(f"{RUNS}999999/").status_code == 404
    assert ops.get(f"{OBLIGATIONS}999999/").status_code == 404


def test_a_cleared_trade_cannot_be_amended_or_cancelled_a_409_with_the_reason_and_nothing_changes(firm):
    trade_id, = firm.book(("ACC-001", "BRKR-B", "AAPL", "BUY", "100", "189.25"))
    net()
    oms = client_for(firm.maker)
    before = (state(), AuditRecord.objects.count(), TradeEvent.objects.count(), TradeVersion.objects.count(),
              Trade.objects.values().get(pk=trade_id))

    amend = post(oms, f"/api/v1/trades/{trade_id}/amend/", {"quantity": "50", "reason": "wrong quantity"})
    cancel = post(oms, f"/api/v1/trades/{trade_id}/cancel/", {"reason": "booked in error"})

    assert (amend.status_code, amend.json()) == (
        409, {"detail": f"Trade {trade_id} is CLEARED: it can no longer be amended."})
    assert (cancel.status_code, cancel.json()) == (
        409, {"detail": f"Trade {trade_id} is CLEARED: it can no longer be cancelled."})
    assert (state(), AuditRecord.objects.count(), TradeEvent.objects.count(), TradeVersion.objects.count(),
            Trade.objects.values().get(pk=trade_id)) == before
    assert NettedTrade.objects.filter(trade_id=trade_id).exists()
    trade = oms.get(f"/api/v1/trades/{trade_id}/").json()
    assert (trade["status"], trade["quantity"], trade["version"]) == ("CLEARED", "100", 1)
    assert [(e["action"], e["from_status"], e["to_status"]) for e in trade["history"]] == [
        ("BOOK", "NEW", "BOOKED"), ("CLEAR", "BOOKED", "CLEARED")]
