# ruff: noqa: F811 - the fixtures imported from helpers_netting are parameters of the tests
"""Netting against trade capture at the same moment, on two connections: the chunk's UPDATE takes the trades'
row locks and rechecks their status, so a trade cancelled first is never netted, and a cancel that comes second
waits and is refused (409: the trade is CLEARED)."""

import threading
import time

import pytest
from django.db import connection, connections, transaction

from backoffice.core.exceptions import ConflictError
from clearing.models import NettedTrade, Obligation
from clearing.netting import services as netting
from records.trades import services as trades
from records.trades.models import Trade
from tests.clearing.helpers_netting import firm, net, netting_alone  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


def _waiting_for_a_lock(timeout: float = 10.0) -> None:
    """Return once another session of this database waits for a row lock."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                           "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()")
            if cursor.fetchone()[0]:
                return
            time.sleep(0.05)
    raise AssertionError("nobody waited for a lock")


def _in_thread(target, outcome: dict, name: str) -> threading.Thread:
    def run():
        try:
            outcome[name] = target()
        except BaseException as exc:  # reported to the test, which asserts on it
            outcome[name] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


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

    canceller = _in_thread(cancel, outcome, "cancel")
    assert locked.wait(10)
    runner = _in_thread(lambda: net(), outcome, "run")
    _waiting_for_a_lock()  # the run's UPDATE waits for the cancel's row lock
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
    runner = _in_thread(lambda: net(), outcome, "run")
    assert in_chunk.wait(20)
    canceller = _in_thread(lambda: trades.trade_cancel(actor=firm.maker, trade_id=trade_id, reason="late"),
                           outcome, "cancel")
    _waiting_for_a_lock()
    finish.set()
    runner.join(30)
    canceller.join(10)

    assert isinstance(outcome["cancel"], ConflictError)
    assert outcome["cancel"].message == f"Trade {trade_id} is CLEARED: it can no longer be cancelled."
    assert outcome["run"].trades_netted == 1
    assert Trade.objects.get(pk=trade_id).status == "CLEARED"
