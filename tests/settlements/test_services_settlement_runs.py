# ruff: noqa: F811 - the fixtures imported from helpers_settlement are parameters of the tests
"""Settlement runs (settlements/runs/services.py): what settles, delivery versus payment, and what it leaves behind.

Every figure is asserted exactly: instructions, movements, positions, cash and reservations, trades with their
events, obligations, fails and the run's counts; a run started again, interrupted and resumed or rerun ends in
the state an uninterrupted run leaves.
"""

from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction

from backoffice.core.exceptions import BusinessRuleError, ConflictError
from backoffice.core.jobs.models import JobChunk, JobRun
from backoffice.core.jobs.services import job_create, job_rerun, job_run_execute
from clearing.models import Obligation
from records.audit.models import AuditRecord
from records.audit.services.audit import content_hash
from records.cash.models import CashMovement
from records.trades.models import Trade, TradeEvent
from settlements.models import SettlementFail, SettlementInstruction, SettlementMovement, SettlementRun
from settlements.runs import services as runs
from tests.settlements.helpers_settlement import (  # noqa: F401
    NEXT_DAY,
    SATURDAY,
    SETTLES,
    SETTLES_EU,
    book_and_instruct,
    cash,
    firm,
    fund,
    funded,
    hold,
    instruction,
    own_steps_only,
    position,
    settle,
    state,
)

pytestmark = pytest.mark.django_db
D = Decimal


def counts(run: SettlementRun) -> tuple:
    run.refresh_from_db()
    return run.job.status, run.settled, run.partial, run.failed


# --- delivery versus payment ---

def test_a_receipt_and_a_delivery_settle_dvp_moving_securities_cash_reservations_trades_and_obligations(funded):
    receipt, = book_and_instruct(funded, ("ACC-001", "BRKR-B", "AAPL", "BUY", "100", "10.25"))
    delivery, = book_and_instruct(funded, ("HOUSE", "BRKR-B", "MSFT", "SELL", "40", "20"))
    assert cash(funded, "ACC-001").reserved == D("1025")

    run = settle()

    assert counts(run) == ("COMPLETED", 2, 0, 0)
    assert instruction(receipt.pk).status == "SETTLED" and instruction(receipt.pk).settled_quantity == 100
    assert (instruction(receipt.pk).settled_cash, instruction(delivery.pk).settled_cash) == (D("-1025"), D("800"))
    assert sorted(SettlementMovement.objects.values_list("instruction_id", "run_id", "quantity", "cash",
                                                         "value_date")) == [
        (receipt.pk, run.pk, D(100), D("-1025"), SETTLES), (delivery.pk, run.pk, D(-40), D(800), SETTLES)]
    aapl, msft = position(funded, "ACC-001", "AAPL"), position(funded, "HOUSE", "MSFT")
    assert (aapl.traded_quantity, aapl.settled_quantity, aapl.pending_receipt, aapl.pending_delivery) == (
        D(1100), D(1100), 0, 0)
    assert (msft.traded_quantity, msft.settled_quantity, msft.pending_receipt, msft.pending_delivery) == (
        D(960), D(960), 0, 0)
    acc, house = cash(funded, "ACC-001"), cash(funded, "HOUSE")
    assert (acc.balance, acc.reserved, house.balance, house.reserved) == (
        D("998975"), 0, D("1000800"), 0)
    settlement_cash = CashMovement.objects.filter(kind="SETTLEMENT").order_by("amount")
    assert [(m.account.code, m.amount, m.value_date) for m in settlement_cash] == [
        ("ACC-001", D("-1025"), SETTLES), ("HOUSE", D(800), SETTLES)]
    assert len({m.reference for m in settlement_cash}) == 2
    assert set(Trade.objects.values_list("status", "settled_quantity")) == {("SETTLED", D(100)), ("SETTLED", D(40))}
    assert set(TradeEvent.objects.filter(action="SETTLE").values_list("from_status", "to_status")) == {
        ("CLEARED", "SETTLED")}
    assert set(Obligation.objects.values_list("status", flat=True)) == {"SETTLED"}
    assert not SettlementFail.objects.exists()


def test_a_delivery_without_the_securities_fails_and_nothing_moves(firm):
    fund(firm, "HOUSE", "1000")
    delivery, = book_and_instruct(firm, ("HOUSE", "BRKR-B", "AAPL", "SELL", "100", "10"), allow_partial=False)
    before = position(firm, "HOUSE", "AAPL")

    run = settle()

    assert counts(run) == ("COMPLETED", 0, 0, 1)
    assert (instruction(delivery.pk).status, instruction(delivery.pk).settled_quantity) == ("FAILED", 0)
    fail = SettlementFail.objects.get()
    assert (fail.instruction_id, fail.kind, fail.cause, fail.failed_on, fail.unsettled_quantity, fail.closed_on) == (
        delivery.pk, "DELIVER", "SECURITIES", SETTLES, D(100), None)
    after = position(firm, "HOUSE", "AAPL")
    assert (after.settled_quantity, after.pending_delivery) == (before.settled_quantity, before.pending_delivery)
    assert not SettlementMovement.objects.exists() and not CashMovement.objects.filter(kind="SETTLEMENT").exists()
    assert list(Trade.objects.values_list("status", "settled_quantity")) == [("FAILED", 0)]
    assert list(TradeEvent.objects.filter(action="FAIL").values_list("from_status", "to_status")) == [
        ("CLEARED", "FAILED")]
    assert list(Obligation.objects.values_list("status", flat=True)) == ["FAILED"]


def test_a_partial_delivery_settles_the_whole_units_held_with_proportional_cash_and_the_rest_later(firm):
    hold(firm, "HOUSE", "AAPL", "30.5")
    delivery, = book_and_instruct(firm, ("HOUSE", "BRKR-B", "AAPL", "SELL", "100", "10.01"), allow_partial=True)

    first = settle()

    partial = instruction(delivery.pk)
    assert counts(first) == ("COMPLETED", 0, 1, 0)
    assert (partial.status, partial.settled_quantity, partial.settled_cash) == ("PARTIAL", D(30), D("300.30"))
    fail = SettlementFail.objects.get()
    assert (fail.kind, fail.cause, fail.unsettled_quantity, fail.closed_on) == ("DELIVER", "SECURITIES", D(70), None)
    aapl = position(firm, "HOUSE", "AAPL")
    assert (aapl.settled_quantity, aapl.pending_delivery, aapl.traded_quantity) == (D("0.5"), D(70), D("-69.5"))
    assert list(Trade.objects.values_list("status", "settled_quantity")) == [("PARTIALLY_SETTLED", D(30))]
    assert list(Obligation.objects.values_list("status", flat=True)) == ["PARTIALLY_SETTLED"]

    hold(firm, "HOUSE", "AAPL", "69.5")
    second = settle(NEXT_DAY)

    done = instruction(delivery.pk)
    assert counts(second) == ("COMPLETED", 1, 0, 0)
    assert (done.status, done.settled_quantity, done.settled_cash) == ("SETTLED", D(100), D("1001"))
    assert list(SettlementMovement.objects.order_by("id").values_list("quantity", "cash", "value_date")) == [
        (D(-30), D("300.30"), SETTLES), (D(-70), D("700.70"), NEXT_DAY)]
    fail.refresh_from_db()
    assert (fail.closed_on, fail.unsettled_quantity) == (NEXT_DAY, 0)
    aapl = position(firm, "HOUSE", "AAPL")
    assert (aapl.settled_quantity, aapl.pending_delivery, aapl.traded_quantity) == (0, 0, 0)
    assert cash(firm, "HOUSE").balance == D("1001")
    assert list(Trade.objects.values_list("status", "settled_quantity")) == [("SETTLED", D(100))]
    assert list(TradeEvent.objects.filter(action__in=("PARTIAL", "SETTLE")).order_by("id").values_list(
        "action", "from_status", "to_status")) == [("PARTIAL", "CLEARED", "PARTIALLY_SETTLED"),
                                                   ("SETTLE", "PARTIALLY_SETTLED", "SETTLED")]


def test_a_payment_short_of_cash_settles_what_balance_credit_and_its_own_reservation_cover(firm):
    fund(firm, "ACC-001", "2000")  # credit limit 1,000: 3,000 can be paid
    receipt, = book_and_instruct(firm, ("ACC-001", "BRKR-B", "AAPL", "BUY", "100", "50"), allow_partial=True)
    assert (cash(firm, "ACC-001").balance, cash(firm, "ACC-001").reserved) == (D(2000), D(5000))

    settle()

    partial = instruction(receipt.pk)
    assert (partial.status, partial.settled_quantity, partial.settled_cash) == ("PARTIAL", D(60), D(-3000))
    balance = cash(firm, "ACC-001")
    assert (balance.balance, balance.reserved) == (D(-1000), D(2000))
    fail = SettlementFail.objects.get()
    assert (fail.kind, fail.cause, fail.unsettled_quantity) == ("RECEIVE", "CASH", D(40))
    aapl = position(firm, "ACC-001", "AAPL")
    assert (aapl.settled_quantity, aapl.pending_receipt, aapl.traded_quantity) == (D(60), D(40), D(100))


def test_a_payment_short_of_cash_without_partial_settlement_fails_on_cash(firm):
    fund(firm, "ACC-001", "2000")
    receipt, = book_and_instruct(firm, ("ACC-001", "BRKR-B", "AAPL", "BUY", "100", "50"), allow_partial=False)
    settle()
    assert (instruction(receipt.pk).status, SettlementFail.objects.get().cause) == ("FAILED", "CASH")
    assert (cash(firm, "ACC-001").balance, cash(firm, "ACC-001").reserved) == (D(2000), D(5000))


def test_an_account_that_cannot_pay_all_its_receipts_pays_them_in_priority_order(firm):
    fund(firm, "ACC-001", "1500")  # 2,500 with the credit limit, 6,025 reserved
    first, = book_and_instruct(firm, ("ACC-001", "BRKR-B", "AAPL", "BUY", "100", "10.25"), allow_partial=False)
    second, = book_and_instruct(firm, ("ACC-001", "BRKR-B", "MSFT", "BUY", "100", "50"), allow_partial=False)
    assert cash(firm, "ACC-001").reserved == D(6025)
    settle()
    assert (instruction(first.pk).status, instruction(second.pk).status) == ("SETTLED", "FAILED")
    assert (cash(firm, "ACC-001").balance, cash(firm, "ACC-001").reserved) == (D(475), D(5000))


def test_cash_reserved_for_what_is_due_later_stays_out_of_reach(firm):
    fund(firm, "ACC-001", "1500")
    today, = book_and_instruct(firm, ("ACC-001", "BRKR-B", "AAPL", "BUY", "100", "10.25"), allow_partial=False)
    later, = book_and_instruct(firm, ("ACC-001", "BRKR-B", "MSFT", "BUY", "100", "50"), allow_partial=False)
    SettlementInstruction.objects.filter(pk=later.pk).update(settlement_date=NEXT_DAY)
    settle()
    assert (instruction(today.pk).status, SettlementFail.objects.get().cause) == ("FAILED", "CASH")
    assert (cash(firm, "ACC-001").balance, cash(firm, "ACC-001").reserved) == (D(1500), D(6025))


def test_a_receipt_whose_counterparty_failed_does_not_settle(funded):
    receipt, = book_and_instruct(funded, ("ACC-001", "BRKR-B", "AAPL", "BUY", "10", "10"))
    SettlementInstruction.objects.filter(pk=receipt.pk).update(counterparty_failed_at="2026-11-23T10:00:00Z")
    settle()
    assert (instruction(receipt.pk).status, SettlementFail.objects.get().cause) == ("FAILED", "COUNTERPARTY")


def test_deliveries_go_first_so_their_cash_pays_the_receipts_of_the_same_account(firm):
    hold(firm, "HOUSE", "MSFT", "100")  # no cash at all
    receipt, delivery = book_and_instruct(firm, ("HOUSE", "BRKR-B", "AAPL", "BUY", "10", "50"),
                                          ("HOUSE", "NSCC", "MSFT", "SELL", "100", "5"), allow_partial=False)
    funded_by = {receipt.direction: receipt, delivery.direction: delivery}
    settle()
    assert instruction(funded_by["RECEIVE"].pk).status == instruction(funded_by["DELIVER"].pk).status == "SETTLED"
    assert cash(firm, "HOUSE").balance == 0


def test_a_delivery_short_before_a_receipt_of_the_same_stock_settles_on_the_next_pass(firm):
    fund(firm, "HOUSE", "1000")
    book_and_instruct(firm, ("HOUSE", "BRKR-B", "AAPL", "SELL", "100", "10"),
                      ("HOUSE", "NSCC", "AAPL", "BUY", "100", "10"), allow_partial=False)
    run = settle()
    assert counts(run) == ("COMPLETED", 2, 0, 0)
    aapl = position(firm, "HOUSE", "AAPL")
    assert (aapl.settled_quantity, aapl.pending_receipt, aapl.pending_delivery) == (0, 0, 0)
    assert cash(firm, "HOUSE").balance == D(1000)


def test_a_net_obligation_releases_the_gross_pending_quantities_and_settles_every_trade(funded):
    receipt, = book_and_instruct(funded, ("ACC-001", "NSCC", "AAPL", "BUY", "100", "10"),
                                 ("ACC-001", "NSCC", "AAPL", "SELL", "40", "11"))
    assert (receipt.direction, receipt.quantity, receipt.cash_amount) == ("RECEIVE", D(60), D(-560))
    settle()
    aapl = position(funded, "ACC-001", "AAPL")
    assert (aapl.traded_quantity, aapl.settled_quantity, aapl.pending_receipt, aapl.pending_delivery) == (
        D(1060), D(1060), 0, 0)
    assert set(Trade.objects.values_list("status", "settled_quantity")) == {
        ("SETTLED", D(100)), ("SETTLED", D(40))}


def test_only_open_instructions_due_by_the_date_in_a_market_settling_that_day_are_taken(funded):
    pending, held, cancelled = book_and_instruct(
        funded, ("ACC-001", "BRKR-B", "AAPL", "BUY", "1", "10"), ("ACC-001", "BRKR-B", "MSFT", "BUY", "1", "10"),
        ("HOUSE", "BRKR-B", "AAPL", "BUY", "1", "10"))
    eu, = book_and_instruct(funded, ("ACC-001", "BRKR-B", "SAP", "BUY", "1", "10"), day=SETTLES_EU)
    SettlementInstruction.objects.filter(pk=held.pk).update(status="HELD")
    SettlementInstruction.objects.filter(pk=cancelled.pk).update(status="CANCELLED")

    settle()

    assert [instruction(i.pk).status for i in (pending, held, cancelled, eu)] == [
        "SETTLED", "HELD", "CANCELLED", "PENDING"]
    settle(NEXT_DAY)
    assert instruction(eu.pk).status == "SETTLED"


def test_a_date_with_nothing_due_completes_with_zero_counts(firm):
    run = settle()
    assert counts(run) == ("COMPLETED", 0, 0, 0)
    assert run.job.steps == [{"name": "settle", "chunks": 1, "done": 1}]


def test_a_date_no_market_settles_on_and_a_malformed_date_are_refused_on_settlement_date(firm):
    with pytest.raises(BusinessRuleError) as refused:
        runs.settlement_run_create(settlement_date=SATURDAY, started_by="test")
    assert (refused.value.field, refused.value.message) == (
        "settlement_date", "2026-11-21 is not a settlement day of any market.")
    with pytest.raises(BusinessRuleError) as malformed:
        runs.settlement_run_create(settlement_date="2026-02-30", started_by="test")
    assert malformed.value.field == "settlement_date"
    assert not SettlementRun.objects.exists() and not JobRun.objects.exists()


def test_a_run_is_refused_while_another_of_the_date_is_queued(firm):
    queued = runs.settlement_run_create(settlement_date=SETTLES, started_by="test")
    with pytest.raises(ConflictError, match=f"Settlement run {queued.pk} for 2026-11-23 is QUEUED"):
        runs.settlement_run_create(settlement_date=SETTLES, started_by="test")


# --- reruns, interruptions ---

def test_running_a_date_again_settles_only_what_is_still_open_and_never_twice(funded):
    settled, failed = book_and_instruct(funded, ("ACC-001", "BRKR-B", "AAPL", "BUY", "10", "10"),
                                        ("HOUSE", "BRKR-B", "MSFT", "SELL", "5000", "10"), allow_partial=False)
    settle()
    before = state()
    again = settle()
    assert counts(again) == ("COMPLETED", 0, 0, 1)
    after = state()
    assert {k: v for k, v in after.items() if k != "runs"} == {k: v for k, v in before.items() if k != "runs"}
    assert SettlementMovement.objects.filter(instruction_id=settled.pk).count() == 1
    assert instruction(failed.pk).status == "FAILED"


class WorkerKilled(BaseException):
    """What a killed worker looks like from inside: nothing after it runs, nothing catches it."""


def _three_accounts(firm):
    from records.reference.services import reference

    with transaction.atomic():
        reference.account_create(actor="test", code="ACC-002", name="Client Two", kind="CLIENT",
                                 base_currency="USD")
    from records.reference.models import Account

    firm.accounts["ACC-002"] = Account.objects.get(code="ACC-002")
    for account in ("ACC-001", "HOUSE", "ACC-002"):
        fund(firm, account, "5000")
        hold(firm, account, "MSFT", "10")
    return book_and_instruct(firm, ("ACC-001", "BRKR-B", "AAPL", "BUY", "100", "10"),
                             ("HOUSE", "BRKR-B", "MSFT", "SELL", "40", "20"),
                             ("ACC-002", "NSCC", "AAPL", "BUY", "300", "20"),
                             ("ACC-002", "BRKR-B", "MSFT", "SELL", "10", "20"))


def _uninterrupted(**params) -> dict:
    """The state an uninterrupted run of SETTLES leaves, found in a savepoint that is then rolled back."""

    class Rollback(Exception):
        pass

    try:
        with transaction.atomic():
            settle(**params)
            found = state()
            raise Rollback
    except Rollback:
        return found


def test_a_run_whose_worker_dies_in_its_second_chunk_resumes_into_the_state_of_an_uninterrupted_run(
        firm, monkeypatch):
    _three_accounts(firm)
    expected = _uninterrupted(instructions_per_chunk=1)
    real, calls = runs.settlement_run_settle, []

    def worker(*, job, index):
        calls.append(index)
        if len(calls) == 2:
            raise WorkerKilled
        return real(job=job, index=index)

    monkeypatch.setattr("settlements.runs.jobs.settlement_run_settle", worker)
    with transaction.atomic():
        run = runs.settlement_run_create(settlement_date=SETTLES, started_by="test")
    JobRun.objects.filter(pk=run.job_id).update(parameters=runs.settlement_parameters(
        {"settlement_date": "2026-11-23", "instructions_per_chunk": 1}))
    with pytest.raises(WorkerKilled):
        job_run_execute(job_id=run.job_id)
    dead = JobRun.objects.get(pk=run.job_id)
    assert (dead.status, dead.chunks_done, dead.chunks_total) == ("RUNNING", 1, 3)

    job = job_run_execute(job_id=run.job_id)  # the redelivered message

    assert calls == [0, 1, 1, 2] and (job.status, job.attempts) == ("COMPLETED", 2)
    assert state() == expected


def test_a_failed_run_started_again_continues_the_same_run_into_the_state_of_an_uninterrupted_run(firm, monkeypatch):
    _three_accounts(firm)
    expected = _uninterrupted(instructions_per_chunk=1)
    real, failures = runs.settlement_run_settle, []

    def flaky(*, job, index):
        if index == 1 and not failures:
            failures.append(index)
            raise RuntimeError("disk full")
        return real(job=job, index=index)

    monkeypatch.setattr("settlements.runs.jobs.settlement_run_settle", flaky)
    with transaction.atomic():
        run = runs.settlement_run_create(settlement_date=SETTLES, started_by=firm.ops)
    JobRun.objects.filter(pk=run.job_id).update(parameters=runs.settlement_parameters(
        {"settlement_date": "2026-11-23", "instructions_per_chunk": 1}))
    failed = job_run_execute(job_id=run.job_id)
    assert (failed.status, failed.error) == ("FAILED", "RuntimeError: disk full")

    again = runs.settlement_run_start(settlement_date=SETTLES, started_by=firm.ops)
    assert again.pk == run.pk and again.job.rerun_of_id == failed.pk
    job = job_run_execute(job_id=again.job_id)

    assert job.status == "COMPLETED"
    assert JobChunk.objects.get(job=job, index=0).result == {"rows": 0, "accounts": [0, runs.account_ranges(
        job.parameters)[0][1]], "committed_by_job": failed.pk}
    assert state() == expected


def test_a_failed_run_rerun_from_the_jobs_page_takes_the_settlement_run_over(funded, monkeypatch):
    book_and_instruct(funded, ("ACC-001", "BRKR-B", "AAPL", "BUY", "10", "10"))
    expected = _uninterrupted()

    def broken(*, job, index):
        raise RuntimeError("lost")

    monkeypatch.setattr("settlements.runs.jobs.settlement_run_settle", broken)
    failed = settle()
    assert failed.job.status == "FAILED"
    monkeypatch.undo()

    rerun = job_rerun(job_id=failed.job_id, started_by=funded.ops)
    job_run_execute(job_id=rerun.pk)

    run = SettlementRun.objects.select_related("job").get()
    assert (run.job_id, run.job.status, run.settled) == (rerun.pk, "COMPLETED", 1)
    assert state() == expected


def test_a_run_started_by_run_job_records_its_own_settlement_run(funded):
    book_and_instruct(funded, ("ACC-001", "BRKR-B", "AAPL", "BUY", "10", "10"))
    job = job_run_execute(job_id=job_create(kind="settlement-run", params={"settlement_date": "2026-11-23"},
                                            started_by="command:run_job").pk)
    run = SettlementRun.objects.get()
    assert (job.status, run.job_id, run.settlement_date, run.settled) == ("COMPLETED", job.pk, SETTLES, 1)


# --- audit ---

def test_every_change_of_a_run_is_audited_with_a_valid_content_hash(funded):
    book_and_instruct(funded, ("ACC-001", "BRKR-B", "AAPL", "BUY", "100", "10.25"))
    last = AuditRecord.objects.order_by("-id").values_list("id", flat=True).first()
    run = settle()
    records = AuditRecord.objects.filter(id__gt=last)
    assert set(records.values_list("record_type", "action")) == {
        ("core.jobrun", "CREATE"), ("records.cashbalance", "UPDATE"), ("records.cashmovement", "CREATE"),
                     ("records.position", "UPDATE"), ("records.trade", "TRANSITION"),
                     ("clearing.obligation", "TRANSITION"), ("settlements.settlementinstruction", "TRANSITION"),
                     ("settlements.settlementrun", "CREATE"), ("settlements.settlementrun", "UPDATE")}
    transition = records.get(record_type="settlements.settlementinstruction")
    movement = SettlementMovement.objects.get()
    assert transition.before == {"settled_cash": "0", "settled_quantity": "0", "status": "PENDING"}
    assert transition.after == {"settled_cash": "-1025", "settled_quantity": "100", "status": "SETTLED",
                                "movement": {"id": movement.pk, "run_id": run.pk, "quantity": "100",
                                             "cash": "-1025"}}
    assert all(content_hash(record) == record.content_hash for record in records)


# --- one instruction at a time ---

def test_an_instruction_the_depository_confirms_settles_in_full_in_the_days_confirmations(firm):
    delivery, = book_and_instruct(firm, ("HOUSE", "BRKR-B", "AAPL", "SELL", "100", "10"), allow_partial=False)
    settle()
    assert instruction(delivery.pk).status == "FAILED"

    settled = runs.instruction_settle_confirmed(actor=firm.ops, instruction_id=delivery.pk, reason="sese.025 SETT",
                                                settled_on=NEXT_DAY)

    assert (settled.status, settled.settled_quantity, settled.settled_cash) == ("SETTLED", D(100), D(1000))
    container = SettlementRun.objects.select_related("job").get(job__kind="settlement-confirmations")
    assert (container.settlement_date, container.job.status, container.settled) == (NEXT_DAY, "COMPLETED", 1)
    assert list(SettlementMovement.objects.values_list("run_id", "quantity", "cash", "value_date")) == [
        (container.pk, D(-100), D(1000), NEXT_DAY)]
    assert position(firm, "HOUSE", "AAPL").settled_quantity == D(-100)  # what the depository says moved
    assert SettlementFail.objects.get().closed_on == NEXT_DAY
    assert list(Trade.objects.values_list("status", flat=True)) == ["SETTLED"]
    # Told twice: nothing more.
    again = runs.instruction_settle_confirmed(actor=firm.ops, instruction_id=delivery.pk, reason="again")
    assert again.settled_quantity == 100 and SettlementMovement.objects.count() == 1


def test_a_held_or_unknown_instruction_cannot_be_confirmed(funded):
    held, = book_and_instruct(funded, ("ACC-001", "BRKR-B", "AAPL", "BUY", "10", "10"))
    SettlementInstruction.objects.filter(pk=held.pk).update(status="HELD")
    with pytest.raises(ConflictError, match="is HELD"):
        runs.instruction_settle_confirmed(actor=funded.ops, instruction_id=held.pk, reason="x")
    with pytest.raises(BusinessRuleError):
        runs.instruction_settle_confirmed(actor=funded.ops, instruction_id=held.pk + 99, reason="x")
    assert not SettlementRun.objects.exists()


def test_cancelling_an_instruction_releases_its_reservation_and_closes_its_fail(firm):
    receipt, = book_and_instruct(firm, ("ACC-001", "BRKR-B", "AAPL", "BUY", "100", "50"), allow_partial=False)
    settle()
    assert cash(firm, "ACC-001").reserved == D(5000)

    cancelled = runs.instruction_cancel(actor=firm.ops, instruction_id=receipt.pk, reason="pair-off")

    assert cancelled.status == "CANCELLED"
    assert cash(firm, "ACC-001").reserved == 0
    assert SettlementFail.objects.get().closed_on is not None
    settle(NEXT_DAY)
    assert instruction(receipt.pk).status == "CANCELLED" and not SettlementMovement.objects.exists()
    with pytest.raises(BusinessRuleError):
        runs.instruction_cancel(actor=firm.ops, instruction_id=receipt.pk + 99, reason="x")


def test_a_settled_instruction_cannot_be_cancelled(funded):
    receipt, = book_and_instruct(funded, ("ACC-001", "BRKR-B", "AAPL", "BUY", "10", "10"))
    settle()
    with pytest.raises(ConflictError, match="is SETTLED"):
        runs.instruction_cancel(actor=funded.ops, instruction_id=receipt.pk, reason="x")
    assert instruction(receipt.pk).status == "SETTLED"


def test_chunks_are_account_ranges_fixed_when_the_run_is_created(firm):
    _three_accounts(firm)
    parameters = runs.settlement_parameters({"settlement_date": "2026-11-23", "instructions_per_chunk": 1})
    assert len(runs.account_ranges(parameters)) == 3
    assert runs.account_ranges(parameters)[0][0] == 0 and runs.account_ranges(parameters)[-1][1] == 2**63 - 1
    for bad in ([3, 2], [0], ["1"], [True]):
        with pytest.raises(BusinessRuleError, match="increasing account ids"):
            runs.settlement_parameters({"settlement_date": "2026-11-23", "account_bounds": bad})
    with pytest.raises(BusinessRuleError, match="whole number"):
        runs.settlement_parameters({"settlement_date": "2026-11-23", "instructions_per_chunk": "0"})
    assert date(2026, 11, 23) == SETTLES
