# ruff: noqa: F811 - the fixtures imported from the helpers are parameters of the tests
"""Settlement instructions (settlements/instructions/services/instructions.py): created as a clearing run completes,
from its obligations, set-based and once; a gross trade instructed on its own; allow-partial and a counterparty's
failure recorded before settlement. Every figure exact; refused actions change nothing.
"""

from decimal import Decimal

import pytest
from django.db import transaction
from django.test import override_settings

from backoffice.core.exceptions import BusinessRuleError, ConflictError
from backoffice.core.jobs.models import JobChunk
from clearing.models import Obligation
from records.audit.models import AuditRecord
from records.audit.services.audit import content_hash, snapshot
from records.trades.models import Trade, TradeEvent
from settlements.instructions.services import instructions as services
from settlements.models import SettlementInstruction
from tests.settlements.helpers_instructions import (
    AGENT_EU,
    CLEARSTREAM,
    SETTLES,
    SETTLES_EU,
    add_ssi,
    firm,  # noqa: F401
    fund,
    instruction,
    net,
    reserved,
)

pytestmark = pytest.mark.django_db
D = Decimal


def test_a_clearing_run_ends_with_one_instruction_per_obligation_with_exact_terms(firm):
    add_ssi("BRKR-B")
    firm.book(("ACC-001", "BRKR-B", "AAPL", "BUY", "100", "189.25"),
              ("ACC-001", "BRKR-B", "AAPL", "SELL", "30", "190.10"),  # net: receive 70 against 13,222 paid
              ("ACC-001", "BRKR-B", "MSFT", "SELL", "20", "415.10"),  # deliver 20 against 8,302 received
              ("HOUSE", "BRKR-B", "AAPL", "SELL", "5.5", "189.3333"))  # 1,041.33315 rounded once: 1,041.3332

    run = net()

    assert run.job.status == "COMPLETED"
    assert run.job.steps == [{"name": "net", "chunks": 1, "done": 1}, {"name": "summarize", "chunks": 1, "done": 1},
                             {"name": "instruct", "chunks": 1, "done": 1}]
    rows = {(i.account.code, i.instrument.symbol): i for i in SettlementInstruction.objects.select_related(
        "account", "instrument")}
    assert {key: (i.direction, i.payment, i.quantity, i.cash_amount, i.currency, i.status, i.settlement_date)
            for key, i in rows.items()} == {
        ("ACC-001", "AAPL"): ("RECEIVE", "APMT", D(70), D("-13222"), "USD", "PENDING", SETTLES),
        ("ACC-001", "MSFT"): ("DELIVER", "APMT", D(20), D("8302"), "USD", "PENDING", SETTLES),
        ("HOUSE", "AAPL"): ("DELIVER", "APMT", D("5.5"), D("1041.3332"), "USD", "PENDING", SETTLES)}
    for i in rows.values():
        o = Obligation.objects.get(pk=i.obligation_id)
        assert (o.status, o.account_id, o.counterparty_id, o.instrument_id, o.net_cash) == (
            "INSTRUCTED", i.account_id, i.counterparty_id, i.instrument_id, i.cash_amount)
        assert (i.trade_id, i.settled_quantity, i.settled_cash, i.allow_partial, i.hold_reason) == (
            None, 0, 0, True, "")
        assert i.ssi.counterparty.code == "BRKR-B"
    assert run.job.result[-1] == {"rows": 3, "clearing_run": run.pk, "instructions": 3, "held": 0}


def test_the_instruct_step_has_a_chunk_per_netting_range_and_each_instructs_only_its_instruments(firm):
    """A million-trade date must not instruct in one chunk (every instruction in one worker's memory):
    instruct is chunked as net is, and each chunk instructs the obligations of its instrument range."""
    add_ssi("BRKR-B")
    firm.book(("ACC-001", "BRKR-B", "AAPL", "BUY", "100", "189.25"),
              ("ACC-001", "BRKR-B", "MSFT", "SELL", "20", "415.10"),
              ("HOUSE", "BRKR-B", "AAPL", "SELL", "5.5", "189.3333"))

    run = net(trades_per_chunk=1)  # a range per instrument

    assert [(step["name"], step["chunks"]) for step in run.job.steps] == [
        ("net", 2), ("summarize", 1), ("instruct", 2)]
    instruct = JobChunk.objects.filter(job=run.job, step="instruct").order_by("index")
    assert [chunk.result["instructions"] for chunk in instruct] == [2, 1]  # AAPL's two accounts, then MSFT
    by_range = {chunk.index: chunk.result for chunk in instruct}
    assert sum(result["rows"] for result in by_range.values()) == SettlementInstruction.objects.count() == 3
    assert not Obligation.objects.exclude(status="INSTRUCTED").exists()
    assert reserved("ACC-001") == D("18925")  # the buy's cash, reserved once

    with transaction.atomic():  # a chunk redelivered after it committed instructs nothing
        assert services.instructions_create_for_clearing_run(job=run.job, index=0)["instructions"] == 0
    assert reserved("ACC-001") == D("18925")


def test_novated_trades_are_instructed_against_the_ccp_under_its_ssi(firm):
    ccp = add_ssi("NSCC")
    add_ssi("BRKR-A")  # the executing broker's own SSI is not the one: the CCP settles
    via_ccp, = firm.book(("HOUSE", "BRKR-A", "MSFT", "BUY", "50", "415.10"))
    firm.match([via_ccp])

    net()

    i = instruction()
    assert (i.counterparty.code, i.ssi_id, i.direction, i.quantity, i.cash_amount) == (
        "NSCC", ccp.pk, "RECEIVE", D(50), D("-20755"))


def test_allow_partial_comes_from_the_account(firm):
    add_ssi("BRKR-B")
    firm.accounts["HOUSE"].__class__.objects.filter(code="HOUSE").update(allow_partial_settlement=False)
    firm.book(("ACC-001", "BRKR-B", "AAPL", "BUY", "1", "10"), ("HOUSE", "BRKR-B", "AAPL", "BUY", "1", "10"))
    net()
    assert dict(SettlementInstruction.objects.values_list("account__code", "allow_partial")) == {
        "ACC-001": True, "HOUSE": False}


def test_a_payment_only_obligation_is_instructed_with_quantity_zero_in_the_direction_of_its_cash(firm):
    add_ssi("BRKR-B")
    firm.book(("ACC-001", "BRKR-B", "AAPL", "BUY", "10", "100"), ("ACC-001", "BRKR-B", "AAPL", "SELL", "10", "101"),
              ("HOUSE", "BRKR-B", "AAPL", "BUY", "10", "101"), ("HOUSE", "BRKR-B", "AAPL", "SELL", "10", "100"),
              ("ACC-001", "BRKR-B", "MSFT", "BUY", "10", "50"), ("ACC-001", "BRKR-B", "MSFT", "SELL", "10", "50"))
    net()
    got = {(i.account.code, i.instrument.symbol): (i.direction, i.payment, i.quantity, i.cash_amount)
           for i in SettlementInstruction.objects.select_related("account", "instrument")}
    assert got == {("ACC-001", "AAPL"): ("DELIVER", "APMT", 0, D(10)),  # receives 10 USD: deliver-versus-payment
                   ("HOUSE", "AAPL"): ("RECEIVE", "APMT", 0, D(-10)),  # pays 10 USD: receive-versus-payment
                   ("ACC-001", "MSFT"): ("DELIVER", "FREE", 0, 0)}  # flat: nothing moves
    assert reserved("HOUSE") == D(10)


def test_without_an_ssi_the_instruction_is_held_with_its_reason(firm):
    firm.book(("ACC-001", "BRKR-B", "AAPL", "BUY", "10", "100"), ("ACC-001", "BRKR-B", "SAP", "BUY", "3", "200"))
    add_ssi("BRKR-B", "XETR", depository=CLEARSTREAM, agent=AGENT_EU)
    run = net()
    net(SETTLES_EU)

    us, eu = instruction(instrument__symbol="AAPL"), instruction(instrument__symbol="SAP")
    assert (us.status, us.ssi_id, us.hold_reason) == (
        "HELD", None, "no standing settlement instruction for BRKR-B in XNAS")
    assert (eu.status, eu.ssi.depository_bic) == ("PENDING", CLEARSTREAM)
    assert Obligation.objects.get(pk=us.obligation_id).status == "INSTRUCTED"
    assert run.job.result[-1]["held"] == 1


def test_the_market_ssi_wins_over_the_default_one_and_only_ssis_effective_on_the_date_count(firm):
    default = add_ssi("BRKR-B", None, account="DEFAULT")
    add_ssi("BRKR-B", "XNAS", account="LATER", effective_from=SETTLES.replace(day=24))  # starts the day after
    add_ssi("BRKR-B", "XNAS", account="ENDED", effective_from=SETTLES.replace(month=1), effective_to=SETTLES.replace(
        day=22))  # ended the day before
    firm.book(("ACC-001", "BRKR-B", "AAPL", "BUY", "10", "100"))
    net()
    assert instruction().ssi_id == default.pk

    current = add_ssi("BRKR-B", "XNAS", account="CURRENT", effective_from=SETTLES)
    add_ssi("BRKR-B", "XNAS", account="ADDED-LATER-STARTED-EARLIER", effective_from=SETTLES.replace(day=2))
    assert instruction().ssi_id == current.pk  # re-pointed: the market's SSI that started last on or before


def test_running_the_step_again_or_the_date_again_instructs_nothing_twice(firm):
    add_ssi("BRKR-B")
    firm.book(("ACC-001", "BRKR-B", "AAPL", "BUY", "10", "100"))
    first = net()
    before = sorted(SettlementInstruction.objects.values_list("id", "obligation_id", "status", "cash_amount"))
    last = AuditRecord.objects.order_by("-id").values_list("id", flat=True).first()

    with transaction.atomic():
        assert services.instructions_create_for_clearing_run(job=first.job) == {
            "rows": 0, "clearing_run": first.pk, "instructions": 0, "held": 0}
    second = net()

    assert second.job.result[-1]["instructions"] == 0
    assert sorted(SettlementInstruction.objects.values_list("id", "obligation_id", "status", "cash_amount")) == before
    assert reserved("ACC-001") == D(1000)
    assert not AuditRecord.objects.filter(id__gt=last, record_type__in=(
        "settlements.settlementinstruction", "clearing.obligation", "records.cashbalance")).exists()


def test_a_trade_booked_after_the_run_is_instructed_by_the_next_run_into_its_own_instruction(firm):
    add_ssi("BRKR-B")
    firm.book(("ACC-001", "BRKR-B", "AAPL", "BUY", "10", "100"))
    net()
    firm.book(("ACC-001", "BRKR-B", "AAPL", "BUY", "5", "100"))
    second = net()
    assert sorted(SettlementInstruction.objects.values_list("obligation__run_id", "quantity")) == [
        (second.pk - 1, D(10)), (second.pk, D(5))]
    assert reserved("ACC-001") == D(1500)


def test_the_instructions_and_the_obligations_moved_are_audited_in_bulk_with_exact_values(firm):
    add_ssi("BRKR-B")
    firm.book(("ACC-001", "BRKR-B", "AAPL", "BUY", "10", "100"), ("HOUSE", "BRKR-B", "MSFT", "SELL", "4", "400"))
    run = net(started_by=firm.ops)

    created = AuditRecord.objects.filter(record_type="settlements.settlementinstruction", action="CREATE")
    assert sorted((r.record_id, r.after) for r in created) == sorted(
        (str(i.pk), snapshot(i)) for i in SettlementInstruction.objects.all())
    assert {(r.actor_label, r.reason, r.correlation_id) for r in created} == {
        ("netter", f"instructed after clearing run {run.pk}", f"job:clearing-netting:{run.job_id}")}
    moved = AuditRecord.objects.filter(record_type="clearing.obligation", action="TRANSITION").order_by("record_id")
    assert [(r.record_id, r.before, r.after) for r in moved] == [
        (str(i.obligation_id), {"status": "OPEN"}, {"instruction_id": i.pk, "status": "INSTRUCTED"})
        for i in SettlementInstruction.objects.order_by("obligation_id")]
    balance = AuditRecord.objects.get(record_type="records.cashbalance")
    assert (balance.before["reserved"], balance.after["reserved"], balance.after["balance"]) == ("0", "1000", "0")
    for record in AuditRecord.objects.all():
        assert content_hash(record) == record.content_hash


def test_cash_paid_is_reserved_per_account_and_currency_received_cash_is_not(firm):
    add_ssi("BRKR-B")
    add_ssi("BRKR-B", "XETR")
    fund(firm.accounts["ACC-001"], "USD", "50000", "DEP-1")
    firm.book(("ACC-001", "BRKR-B", "AAPL", "BUY", "100", "189.25"),  # pays 18,925
              ("ACC-001", "BRKR-B", "MSFT", "BUY", "10", "415.10"),  # pays 4,151
              ("HOUSE", "BRKR-B", "MSFT", "SELL", "10", "415.10"),  # receives: nothing reserved
              ("ACC-001", "BRKR-B", "SAP", "BUY", "2", "187.36"))  # EUR, settles a day later
    net()
    net(SETTLES_EU)
    assert reserved("ACC-001") == D("23076")
    assert reserved("ACC-001", "EUR") == D("374.72")
    assert reserved("HOUSE") is None
    from records.cash.models import CashBalance

    usd = CashBalance.objects.get(account__code="ACC-001", currency="USD")
    assert (usd.balance, usd.available) == (D(50000), D("26924"))


def test_a_held_instruction_reserves_its_cash_too(firm):
    firm.book(("ACC-001", "BRKR-B", "AAPL", "BUY", "10", "100"))
    net()
    assert (instruction().status, reserved("ACC-001")) == ("HELD", D(1000))


def test_approving_an_ssi_releases_the_held_instructions_it_covers_and_audits_each(firm):
    firm.book(("ACC-001", "BRKR-B", "AAPL", "BUY", "10", "100"), ("HOUSE", "BRKR-B", "MSFT", "BUY", "1", "400"),
              ("ACC-001", "BRKR-C", "AAPL", "BUY", "1", "100", ))
    firm.match(Trade.objects.filter(counterparty__code="BRKR-C").values_list("id", flat=True))
    net()
    assert set(SettlementInstruction.objects.values_list("status", flat=True)) == {"HELD"}

    ssi = add_ssi("BRKR-B")

    statuses = dict(SettlementInstruction.objects.values_list("counterparty__code", "status").distinct())
    assert statuses == {"BRKR-B": "PENDING", "BRKR-C": "HELD"}
    released = SettlementInstruction.objects.filter(counterparty__code="BRKR-B")
    assert {(i.ssi_id, i.hold_reason) for i in released} == {(ssi.pk, "")}
    trail = AuditRecord.objects.filter(record_type="settlements.settlementinstruction", action="TRANSITION")
    assert sorted((r.record_id, r.before, r.after) for r in trail) == sorted(
        (str(i.pk), {"hold_reason": "no standing settlement instruction for BRKR-B in XNAS", "ssi_id": None,
                     "status": "HELD"}, {"hold_reason": "", "ssi_id": ssi.pk, "status": "PENDING"})
        for i in released)


def test_ending_an_ssi_holds_the_pending_instructions_it_no_longer_covers(firm):
    ssi = add_ssi("BRKR-B")
    firm.book(("ACC-001", "BRKR-B", "AAPL", "BUY", "10", "100"))
    net()
    from settlements.instructions.services.ssis import ssi_update

    with transaction.atomic():
        ssi_update(actor="test", ssi_id=ssi.pk, changes={"effective_to": SETTLES.replace(day=20)}, reason="closed")
    i = instruction()
    assert (i.status, i.ssi_id, i.hold_reason) == (
        "HELD", None, "no standing settlement instruction for BRKR-B in XNAS")


def test_a_settled_or_failed_instruction_is_never_repointed_by_an_ssi_change(firm):
    firm.book(("ACC-001", "BRKR-B", "AAPL", "BUY", "10", "100"), ("HOUSE", "BRKR-B", "AAPL", "BUY", "1", "100"))
    net()
    SettlementInstruction.objects.filter(account__code="HOUSE").update(status="FAILED")
    add_ssi("BRKR-B")
    assert dict(SettlementInstruction.objects.values_list("account__code", "status")) == {
        "ACC-001": "PENDING", "HOUSE": "FAILED"}
    assert SettlementInstruction.objects.get(account__code="HOUSE").ssi_id is None


@override_settings(JOB_STEP_EXTENSIONS={})
def test_without_the_extension_netting_leaves_its_obligations_open(firm):
    firm.book(("ACC-001", "BRKR-B", "AAPL", "BUY", "10", "100"))
    run = net()
    assert [step["name"] for step in run.job.steps] == ["net", "summarize"]
    assert Obligation.objects.get().status == "OPEN"
    assert not SettlementInstruction.objects.exists()


def test_a_failed_instruct_chunk_leaves_nothing_and_the_rerun_instructs_once(firm, monkeypatch):
    add_ssi("BRKR-B")
    firm.book(("ACC-001", "BRKR-B", "AAPL", "BUY", "10", "100"))

    def broken(**kwargs):
        raise RuntimeError("worker lost")

    monkeypatch.setattr("settlements.instructions.services.instructions.cash_reservations_apply", broken)
    run = net()
    assert run.job.status == "FAILED"
    assert not SettlementInstruction.objects.exists()
    assert Obligation.objects.get().status == "OPEN"
    assert reserved("ACC-001") is None
    monkeypatch.undo()

    from backoffice.core.jobs.services import job_rerun, job_run_execute

    with transaction.atomic():
        rerun = job_rerun(job_id=run.job_id, started_by=firm.ops)
    job_run_execute(job_id=rerun.pk)
    assert SettlementInstruction.objects.count() == 1
    assert (Obligation.objects.get().status, reserved("ACC-001")) == ("INSTRUCTED", D(1000))
    assert JobChunk.objects.filter(job_id=rerun.pk, step="instruct").count() == 1


# --- a gross trade ---

def test_a_gross_trade_is_instructed_on_its_own_and_leaves_netting(firm):
    add_ssi("NSCC")
    buy, = firm.book(("HOUSE", "BRKR-A", "AAPL", "BUY", "3", "189.33333"))  # 567.99999: rounded to 568.0000
    with pytest.raises(ConflictError, match="requires a matched confirmation"), transaction.atomic():
        services.instruction_create_for_trade(actor=firm.ops, trade_id=buy)  # BRKR-A requires matching
    firm.match([buy])
    with transaction.atomic():
        i = services.instruction_create_for_trade(actor=firm.ops, trade_id=buy)
    i = instruction(pk=i.pk)
    assert (i.trade_id, i.obligation_id, i.counterparty.code, i.direction, i.payment, i.quantity, i.cash_amount,
            i.status) == (buy, None, "NSCC", "RECEIVE", "APMT", D(3), D("-568"), "PENDING")
    assert Trade.objects.get(pk=buy).status == "CLEARED"
    event = TradeEvent.objects.get(trade_id=buy, action="CLEAR")
    assert (event.from_status, event.to_status, event.reason) == (
        "BOOKED", "CLEARED", f"Instructed gross as settlement instruction {i.pk}")
    assert reserved("HOUSE") == D(568)

    net()
    assert SettlementInstruction.objects.count() == 1  # netting left it alone
    with transaction.atomic():
        again = services.instruction_create_for_trade(actor=firm.ops, trade_id=buy)
    assert again.pk == i.pk and reserved("HOUSE") == D(568)


def test_a_trade_that_is_not_booked_or_is_netted_is_not_instructed_gross(firm):
    held, = firm.book(("HOUSE", "BRKR-B", "AAPL", "SELL", "3", "100"), status="HELD")
    netted, = firm.book(("HOUSE", "BRKR-B", "AAPL", "SELL", "3", "100"))
    net()
    for trade_id in (held, netted):
        with pytest.raises(ConflictError), transaction.atomic():
            services.instruction_create_for_trade(actor=firm.ops, trade_id=trade_id)
    with pytest.raises(BusinessRuleError) as refused, transaction.atomic():
        services.instruction_create_for_trade(actor=firm.ops, trade_id=999_999)
    assert refused.value.field == "trade"
    assert SettlementInstruction.objects.filter(trade__isnull=False).count() == 0
    assert Trade.objects.get(pk=held).status == "HELD"


# --- adjustments before settlement ---

@pytest.fixture
def one_instruction(firm):
    add_ssi("BRKR-B")
    firm.book(("ACC-001", "BRKR-B", "AAPL", "BUY", "10", "100"))
    net()
    return instruction()


def test_allow_partial_changes_before_settlement_and_is_audited(firm, one_instruction):
    with transaction.atomic():
        changed = services.instruction_allow_partial_set(actor=firm.ops, instruction_id=one_instruction.pk,
                                                         allow_partial=False)
    assert changed.allow_partial is False
    record = AuditRecord.objects.filter(record_type="settlements.settlementinstruction", action="UPDATE").get()
    assert (record.before["allow_partial"], record.after["allow_partial"], record.actor_label, record.reason) == (
        True, False, "netter", "partial settlement forbidden")
    with transaction.atomic():
        services.instruction_allow_partial_set(actor=firm.ops, instruction_id=one_instruction.pk, allow_partial=False)
    assert AuditRecord.objects.filter(record_type="settlements.settlementinstruction", action="UPDATE").count() == 1


@pytest.mark.parametrize("status", ["SETTLED", "PARTIAL", "CANCELLED"])
def test_allow_partial_cannot_change_once_settled_in_part_or_whole_or_cancelled(firm, one_instruction, status):
    SettlementInstruction.objects.filter(pk=one_instruction.pk).update(status=status)
    with pytest.raises(ConflictError), transaction.atomic():
        services.instruction_allow_partial_set(actor=firm.ops, instruction_id=one_instruction.pk,
                                               allow_partial=False)
    assert SettlementInstruction.objects.get(pk=one_instruction.pk).allow_partial is True


@pytest.mark.parametrize("status", ["HELD", "PENDING", "FAILED"])
def test_allow_partial_may_change_while_open(firm, one_instruction, status):
    SettlementInstruction.objects.filter(pk=one_instruction.pk).update(status=status)
    with transaction.atomic():
        services.instruction_allow_partial_set(actor=firm.ops, instruction_id=one_instruction.pk,
                                               allow_partial=False)
    assert SettlementInstruction.objects.get(pk=one_instruction.pk).allow_partial is False


def test_a_counterparty_failure_is_recorded_with_its_reason_and_audited(firm, one_instruction):
    with transaction.atomic():
        failed = services.instruction_counterparty_fail(actor=firm.ops, instruction_id=one_instruction.pk,
                                                        reason="  no securities at their agent ")
    failed.refresh_from_db()
    assert failed.counterparty_fail_reason == "no securities at their agent"
    assert failed.counterparty_failed_at is not None and failed.status == "PENDING"
    record = AuditRecord.objects.filter(record_type="settlements.settlementinstruction", action="UPDATE").get()
    assert (record.before["counterparty_fail_reason"], record.after["counterparty_fail_reason"], record.reason) == (
        "", "no securities at their agent", "counterparty failed: no securities at their agent")


@pytest.mark.parametrize("status", ["SETTLED", "CANCELLED"])
def test_a_counterparty_failure_cannot_be_recorded_on_a_settled_or_cancelled_instruction(firm, one_instruction,
                                                                                        status):
    SettlementInstruction.objects.filter(pk=one_instruction.pk).update(status=status)
    with pytest.raises(ConflictError), transaction.atomic():
        services.instruction_counterparty_fail(actor=firm.ops, instruction_id=one_instruction.pk, reason="late")
    assert SettlementInstruction.objects.get(pk=one_instruction.pk).counterparty_failed_at is None


@pytest.mark.parametrize("reason", ["", "   ", None, 12, "x" * 201])
def test_a_counterparty_failure_needs_a_reason(firm, one_instruction, reason):
    with pytest.raises(BusinessRuleError) as refused, transaction.atomic():
        services.instruction_counterparty_fail(actor=firm.ops, instruction_id=one_instruction.pk, reason=reason)
    assert refused.value.field == "reason" and refused.value.status_code == 400
    assert SettlementInstruction.objects.get(pk=one_instruction.pk).counterparty_failed_at is None
