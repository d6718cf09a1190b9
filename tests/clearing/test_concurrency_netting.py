# ruff: noqa: F811 - the fixtures imported from helpers_netting are parameters of the tests
"""Netting against trade capture at the same moment, on two connections: the chunk's UPDATE takes the trades'
row locks and rechecks their status, so a trade cancelled first is never netted, and a cancel that comes second
waits and is refused (409: the trade is CLEARED)."""

import threading

import pytest
from django.db import transaction

from backoffice.core.exceptions import ConflictError
from clearing.models import NettedTrade, Obligation
from clearing.netting import services as netting
from records.trades import services as trades
from records.trades.models import Trade
from tests.clearing.helpers_netting import firm, net, netting_alone, state  # noqa: F401
from tests.threads import in_thread, waiting_for_a_lock

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_trade_cancelled_while_the_run_waits_for_its_lock_is_not_netted(firm):
    doomed, kept = firm.book(("ACC-001", "BRKR-B", "AAPL", "BUY", "10", "100"),
                             ("ACC-001", "BRKR-B", "AAPL", "SELL", "4", "101"))
    locked, commit = threading.Event(), threading.Event()
    outcome = {}

    def cancel():
        with transaction.atomic():
            Trade.objects.select_for_update().get(pk=doomed)  # the cancel holds the row first
            locked.set()
            commit.wait(10)
            return trades.trade_cancel(actor=firm.maker, trade_id=doomed, reason="booked in error").status

    canceller = in_thread(cancel, outcome, "cancel")
    assert locked.wait(10)
    runner = in_thread(lambda: net(), outcome, "run")
    waiting_for_a_lock()  # the run's UPDATE waits for the cancel's row lock
    commit.set()
    canceller.join(10)
    runner.join(30)

    assert outcome["cancel"] == "CANCELLED"
    run = outcome["run"]
    assert run.job.status == "COMPLETED", run.job.error
    assert list(NettedTrade.objects.values_list("trade_id", flat=True)) == [kept]
    assert dict(Trade.objects.values_list("id", "status")) == {doomed: "CANCELLED", kept: "CLEARED"}
    assert Obligation.objects.get().net_quantity == -4


def test_a_cancel_arriving_while_a_chunk_holds_the_trade_waits_and_is_refused(firm, monkeypatch):
    trade_id, = firm.book(("ACC-001", "BRKR-B", "AAPL", "BUY", "10", "100"))
    in_chunk, finish = threading.Event(), threading.Event()
    real_audit = netting.audit_log_bulk

    def slow_audit(**kwargs):
        in_chunk.set()  # the trades are updated, the chunk not committed yet
        finish.wait(10)
        return real_audit(**kwargs)

    monkeypatch.setattr(netting, "audit_log_bulk", slow_audit)
    outcome = {}
    runner = in_thread(lambda: net(), outcome, "run")
    assert in_chunk.wait(20)
    canceller = in_thread(lambda: trades.trade_cancel(actor=firm.maker, trade_id=trade_id, reason="late"),
                           outcome, "cancel")
    waiting_for_a_lock()
    finish.set()
    runner.join(30)
    canceller.join(10)

    assert isinstance(outcome["cancel"], ConflictError)
    assert outcome["cancel"].message == f"Trade {trade_id} is CLEARED: it can no longer be cancelled."
    assert outcome["run"].trades_netted == 1
    assert Trade.objects.get(pk=trade_id).status == "CLEARED"


class _Rollback(Exception):
    pass


def _without_run_ids(found: dict) -> dict:
    """state() with the run ids a sequence hands out left out of the obligation keys and the runs."""
    strip = lambda key: key[1:]  # noqa: E731 - (run_id, account, counterparty, instrument, date, currency)
    return {"obligations": [(*strip(o[:6]), *o[6:]) for o in found["obligations"]],
            "links": [(trade_id, strip(key)) for trade_id, key in found["links"]],
            "trades": found["trades"], "events": found["events"], "runs": [r[1:] for r in found["runs"]]}


def test_two_workers_net_a_run_between_them_exactly_as_one_worker_does(firm, monkeypatch):
    """The chunks of one run on two workers at once (the kernel's claims): each nets its instrument range, no
    chunk waits for another, and the outcome is the one-worker outcome (found first, then rolled back)."""
    firm.book(*[(account, counterparty, symbol, side, str(10 + n), "100")
                for n, (account, counterparty, symbol, side) in enumerate(
                    (a, c, s, side) for a in ("ACC-001", "HOUSE") for c in ("BRKR-B", "NSCC")
                    for s in ("AAPL", "MSFT") for side in ("BUY", "SELL"))])
    try:
        with transaction.atomic():
            net(trades_per_chunk=1)
            alone = _without_run_ids(state())
            raise _Rollback
    except _Rollback:
        pass
    assert len(alone["obligations"]) == 8

    from backoffice.core.jobs.models import JobChunk, JobRun
    from backoffice.core.jobs.services import job_run_execute

    real_audit, by_worker, both_in = netting.audit_log_bulk, set(), threading.Barrier(2, timeout=10)

    def audit_when_both_are_netting(**kwargs):
        # Each chunk, its netting statement done and its locks held, waits here for the other chunk to
        # get as far: so they hold their rows at the same time (a lock shared by the two would time this out).
        if threading.current_thread().name not in by_worker:
            by_worker.add(threading.current_thread().name)
            both_in.wait()
        return real_audit(**kwargs)

    monkeypatch.setattr(netting, "audit_log_bulk", audit_when_both_are_netting)
    with transaction.atomic():
        run = netting.clearing_run_create(settlement_date=alone["runs"][0][0], started_by="test")
    JobRun.objects.filter(pk=run.job_id).update(parameters=netting.netting_parameters(
        {"settlement_date": run.settlement_date.isoformat(), "trades_per_chunk": 1}))
    outcome = {}
    workers = [in_thread(lambda: job_run_execute(job_id=run.job_id).status, outcome, name) for name in ("w0", "w1")]
    for worker in workers:
        worker.join(30)

    assert outcome == {"w0": "COMPLETED", "w1": "COMPLETED"}
    assert JobChunk.objects.filter(job_id=run.job_id, step="net").count() == 2
    assert by_worker == {"w0", "w1"}
    assert _without_run_ids(state()) == alone
