# ruff: noqa: F811 - the fixtures imported from the helpers are parameters of the tests
"""A settlement run on two workers at once, on their own connections (the kernel's claims): each settles its
account range, the two hold their rows at the same time without a deadlock (the lock order of
settlements/runs/services.py), and the outcome is the one-worker outcome. A run and the depository's
confirmation of the same instruction at the same moment: whichever locks it first settles it, the other
waits and settles nothing."""

import threading

import pytest
from django.db import transaction

from backoffice.core.jobs.models import JobChunk, JobRun
from backoffice.core.jobs.services import job_run_execute
from settlements.models import SettlementMovement, SettlementRun
from settlements.runs import services as runs
from tests.settlements.helpers_settlement import (  # noqa: F401
    SETTLES,
    book_and_instruct,
    firm,
    funded,
    own_steps_only,
    settle,
    state,
)
from tests.threads import in_thread, waiting_for_a_lock

pytestmark = pytest.mark.django_db(transaction=True)


class _Rollback(Exception):
    pass


def test_two_workers_settle_a_run_between_them_exactly_as_one_worker_does(funded, monkeypatch):
    book_and_instruct(funded,
                      ("ACC-001", "BRKR-B", "AAPL", "BUY", "100", "100"),
                      ("ACC-001", "BRKR-B", "MSFT", "SELL", "400", "50"),
                      ("ACC-001", "NSCC", "AAPL", "SELL", "1500", "101"),  # 1,000 held: partial
                      ("HOUSE", "BRKR-B", "AAPL", "SELL", "300", "100"),
                      ("HOUSE", "BRKR-B", "MSFT", "SELL", "10", "50"))
    book_and_instruct(funded, ("HOUSE", "NSCC", "MSFT", "BUY", "30000", "50"),  # 1,500,000 USD due, 1,000,000
                      allow_partial=False)                                    # held, no partial: fails
    try:
        with transaction.atomic():
            settle(instructions_per_chunk=1)
            alone = state()
            raise _Rollback
    except _Rollback:
        pass
    assert {status for _id, status, *_ in alone["instructions"]} >= {"SETTLED", "PARTIAL", "FAILED"}

    real_write, by_worker, both_in = runs._write_movements, set(), threading.Barrier(2, timeout=10)

    def write_when_both_are_settling(*args, **kwargs):
        # Each chunk, its instructions, positions and cash locked, waits here for the other to get as far.
        if threading.current_thread().name not in by_worker:
            by_worker.add(threading.current_thread().name)
            both_in.wait()
        return real_write(*args, **kwargs)

    monkeypatch.setattr(runs, "_write_movements", write_when_both_are_settling)
    with transaction.atomic():
        run = runs.settlement_run_create(settlement_date=SETTLES, started_by="test")
    JobRun.objects.filter(pk=run.job_id).update(parameters=runs.settlement_parameters(
        {"settlement_date": SETTLES.isoformat(), "instructions_per_chunk": 1}))
    outcome = {}
    workers = [in_thread(lambda: job_run_execute(job_id=run.job_id).status, outcome, name) for name in ("w0", "w1")]
    for worker in workers:
        worker.join(30)

    assert outcome == {"w0": "COMPLETED", "w1": "COMPLETED"}
    assert JobChunk.objects.filter(job_id=run.job_id, step="settle").count() >= 2
    assert by_worker == {"w0", "w1"}
    assert state() == alone


def _one_instruction(funded):
    instruction, = book_and_instruct(funded, ("ACC-001", "BRKR-B", "AAPL", "BUY", "100", "100"))
    return instruction


def test_a_depository_confirmation_arriving_while_a_run_settles_the_instruction_waits_and_settles_nothing(
        funded, monkeypatch):
    instruction = _one_instruction(funded)
    inside, finish = threading.Event(), threading.Event()
    real_write = runs._write_movements

    def write_and_wait(*args, **kwargs):
        real_write(*args, **kwargs)
        inside.set()
        finish.wait(10)  # the run holds the instruction's lock, its movement written, not committed

    monkeypatch.setattr(runs, "_write_movements", write_and_wait)
    outcome = {}
    runner = in_thread(lambda: settle().job.status, outcome, "run")
    assert inside.wait(10)
    confirmer = in_thread(lambda: runs.instruction_settle_confirmed(
        actor="test", instruction_id=instruction.pk, reason="DTC: settled").status, outcome, "confirmation")
    waiting_for_a_lock()
    finish.set()
    runner.join(30)
    confirmer.join(30)

    assert outcome == {"run": "COMPLETED", "confirmation": "SETTLED"}
    assert SettlementMovement.objects.filter(instruction_id=instruction.pk).count() == 1
    assert SettlementRun.objects.filter(settled=1).count() == 1  # the run's; the confirmation settled nothing


def test_a_run_reaching_an_instruction_a_confirmation_is_settling_waits_and_leaves_it_alone(funded):
    instruction = _one_instruction(funded)
    confirmed, commit = threading.Event(), threading.Event()
    outcome = {}

    def confirm():
        with transaction.atomic():
            status = runs.instruction_settle_confirmed(actor="test", instruction_id=instruction.pk,
                                                       reason="DTC: settled").status
            confirmed.set()
            commit.wait(10)
            return status

    confirmer = in_thread(confirm, outcome, "confirmation")
    assert confirmed.wait(10)
    runner = in_thread(lambda: settle(), outcome, "run")
    waiting_for_a_lock()  # the run's FOR UPDATE waits for the confirmation's lock on the instruction
    commit.set()
    confirmer.join(30)
    runner.join(30)

    assert outcome["confirmation"] == "SETTLED"
    run = outcome["run"]
    assert (run.job.status, run.settled, run.failed) == ("COMPLETED", 0, 0), run.job.error
    assert SettlementMovement.objects.filter(instruction_id=instruction.pk).count() == 1
