# ruff: noqa: F811 - the fixtures imported from helpers_netting are parameters of the tests
"""Netting runs (clearing/netting/services.py): which trades are netted, into what, with which records left behind.

Every figure is asserted exactly; a run started again, a run interrupted and resumed or rerun, and a trade
booked after a run all end in the state DESIGN.md §5 asks for.
"""

from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction

from backoffice.core.exceptions import BusinessRuleError, ConflictError
from backoffice.core.jobs.models import JobChunk, JobRun
from backoffice.core.jobs.services import job_create, job_rerun, job_run_execute
from clearing.models import ClearingRun, NettedTrade, Obligation
from clearing.netting import services as netting
from records.audit.models import AuditRecord
from records.audit.services.audit import content_hash, snapshot
from records.trades import services as trades
from records.trades.models import Trade, TradeEvent
from tests.clearing.helpers_netting import SATURDAY, SETTLES, SETTLES_EU, firm, net, netting_alone, state  # noqa: F401

pytestmark = pytest.mark.django_db
D = Decimal


def obligation(**key) -> Obligation:
    return Obligation.objects.select_related("account", "counterparty", "instrument").get(**key)


def test_eligible_trades_are_netted_into_one_obligation_per_key_with_exact_figures(firm):
    buy, sell, odd = firm.book(("ACC-001", "BRKR-B", "AAPL", "BUY", "100", "189.25"),
                               ("ACC-001", "BRKR-B", "AAPL", "SELL", "30", "190.10"),
                               ("ACC-001", "BRKR-B", "AAPL", "BUY", "5.5", "189.3333"))

    run = net()

    assert run.job.status == JobRun.Status.COMPLETED
    o = Obligation.objects.get()
    assert (o.run_id, o.account.code, o.counterparty.code, o.instrument.symbol, o.settlement_date, o.currency) == (
        run.pk, "ACC-001", "BRKR-B", "AAPL", SETTLES, "USD")
    assert (o.net_quantity, o.buy_quantity, o.sell_quantity, o.trade_count) == (D("75.5"), D("105.5"), D("30"), 3)
    # 30 × 190.10 − 100 × 189.25 − 5.5 × 189.3333 = −14,263.33315 exactly: rounded once, to four places.
    assert o.net_cash == D("-14263.3332")
    assert (o.buy_value, o.sell_value) == (D("19966.3332"), D("5703"))  # 18,925 + 1,041.33315
    assert o.status == Obligation.Status.OPEN
    assert sorted(NettedTrade.objects.values_list("trade_id", "obligation_id")) == [
        (buy, o.pk), (sell, o.pk), (odd, o.pk)]
    assert set(Trade.objects.values_list("status", flat=True)) == {"CLEARED"}
    assert (run.trades_netted, run.obligations_created, run.gross_quantity, run.net_quantity) == (
        3, 1, D("135.5"), D("75.5"))
    assert (run.gross_value, run.net_value) == (D("25669.3332"), D("14263.3332"))


def test_only_booked_trades_of_the_date_matched_or_locked_in_are_netted(firm):
    locked_in, = firm.book(("ACC-001", "BRKR-B", "AAPL", "BUY", "10", "100"))
    unmatched, matched = firm.book(("ACC-001", "BRKR-C", "AAPL", "BUY", "10", "100"),
                                   ("ACC-001", "BRKR-C", "AAPL", "SELL", "4", "101"))
    held, = firm.book(("ACC-001", "BRKR-B", "AAPL", "BUY", "1", "100"), status="HELD")
    cancelled, = firm.book(("ACC-001", "BRKR-B", "AAPL", "BUY", "2", "100"), status="CANCELLED")
    other_date, = firm.book(("ACC-001", "BRKR-B", "SAP", "BUY", "3", "100"))  # settles T+2, 2026-11-24
    firm.match([matched])
    Trade.objects.filter(pk=unmatched).update(match_status=Trade.MatchStatus.MISMATCHED)

    net()

    netted = set(NettedTrade.objects.values_list("trade_id", flat=True))
    assert netted == {locked_in, matched}
    statuses = dict(Trade.objects.values_list("id", "status"))
    assert {trade: statuses[trade] for trade in (unmatched, held, cancelled, other_date)} == {
        unmatched: "BOOKED", held: "HELD", cancelled: "CANCELLED", other_date: "BOOKED"}
    assert obligation(counterparty__code="BRKR-C").net_quantity == D("-4")
    assert obligation(counterparty__code="BRKR-B").net_quantity == D("10")


def test_novated_trades_net_against_the_ccp_and_keep_their_own_counterparty(firm):
    via_ccp, direct = firm.book(("HOUSE", "BRKR-A", "MSFT", "BUY", "50", "415.10"),
                                ("HOUSE", "NSCC", "MSFT", "SELL", "20", "416"))
    firm.match([via_ccp])

    net()

    o = obligation()
    assert (o.counterparty.code, o.net_quantity, o.net_cash, o.trade_count) == ("NSCC", D("30"), D("-12435"), 2)
    assert dict(Trade.objects.values_list("id", "counterparty__code")) == {via_ccp: "BRKR-A", direct: "NSCC"}


def test_keys_are_kept_apart_by_account_counterparty_instrument_date_and_currency(firm):
    firm.book(("ACC-001", "BRKR-B", "AAPL", "BUY", "1", "10"), ("HOUSE", "BRKR-B", "AAPL", "BUY", "2", "10"),
              ("ACC-001", "NSCC", "AAPL", "BUY", "3", "10"), ("ACC-001", "BRKR-B", "MSFT", "BUY", "4", "10"),
              ("ACC-001", "BRKR-B", "SAP", "BUY", "5", "10"), ("ACC-001", "BRKR-B", "VOD", "SELL", "6", "10"))

    us, eu = net(), net(SETTLES_EU)

    assert sorted(Obligation.objects.values_list("run_id", "account__code", "counterparty__code",
                                                 "instrument__symbol", "currency", "net_quantity")) == [
        (us.pk, "ACC-001", "BRKR-B", "AAPL", "USD", D(1)), (us.pk, "ACC-001", "BRKR-B", "MSFT", "USD", D(4)),
        (us.pk, "ACC-001", "NSCC", "AAPL", "USD", D(3)), (us.pk, "HOUSE", "BRKR-B", "AAPL", "USD", D(2)),
        (eu.pk, "ACC-001", "BRKR-B", "SAP", "EUR", D(5)), (eu.pk, "ACC-001", "BRKR-B", "VOD", "GBP", D(-6))]


def test_a_flat_key_still_gets_its_obligation_with_zero_net(firm):
    firm.book(("ACC-001", "BRKR-B", "AAPL", "BUY", "10", "100"), ("ACC-001", "BRKR-B", "AAPL", "SELL", "10", "100"))
    net()
    o = obligation()
    assert (o.net_quantity, o.net_cash, o.trade_count, o.buy_value, o.sell_value) == (0, 0, 2, D(1000), D(1000))


def test_the_trades_move_with_an_event_and_an_audit_record_each_and_the_obligations_are_audited(firm):
    first, second = firm.book(("ACC-001", "BRKR-B", "AAPL", "BUY", "10", "100"),
                              ("ACC-001", "NSCC", "MSFT", "SELL", "5", "200"))

    run = net(started_by=firm.ops)

    events = list(TradeEvent.objects.filter(action="CLEAR").order_by("trade_id"))
    by_trade = {n.trade_id: n.obligation_id for n in NettedTrade.objects.all()}
    assert [(e.trade_id, e.from_status, e.to_status, e.actor, e.actor_label, e.reason) for e in events] == [
        (trade, "BOOKED", "CLEARED", firm.ops, "netter",
         f"Netted into obligation {by_trade[trade]} by clearing run {run.pk}") for trade in (first, second)]
    trail = AuditRecord.objects.filter(record_type="records.trade", action="TRANSITION").order_by("record_id")
    assert [(r.record_id, r.before, r.after, r.actor_label, r.reason, r.correlation_id) for r in trail] == [
        (str(trade), {"status": "BOOKED"}, {"obligation_id": by_trade[trade], "status": "CLEARED"}, "netter",
         f"netted by clearing run {run.pk}", f"job:clearing-netting:{run.job_id}") for trade in (first, second)]
    created = AuditRecord.objects.filter(record_type="clearing.obligation", action="CREATE")
    assert sorted((r.record_id, r.after) for r in created) == sorted(
        (str(o.pk), snapshot(o)) for o in Obligation.objects.all())
    run_trail = list(AuditRecord.objects.filter(record_type="clearing.clearingrun").order_by("id"))
    assert [r.action for r in run_trail] == ["CREATE", "UPDATE"]
    assert run_trail[-1].after == snapshot(ClearingRun.objects.get())
    assert AuditRecord.objects.filter(record_type="core.jobrun", record_id=str(run.job_id), action="CREATE").exists()
    for record in AuditRecord.objects.all():
        assert content_hash(record) == record.content_hash


def test_a_date_with_nothing_to_net_completes_with_zero_counts(firm):
    run = net()
    assert (run.job.status, run.trades_netted, run.obligations_created, run.gross_value, run.net_value) == (
        "COMPLETED", 0, 0, 0, 0)
    assert run.job.steps == [{"name": "net", "chunks": 1, "done": 1}, {"name": "summarize", "chunks": 1, "done": 1}]


def test_running_a_date_again_nets_nothing_new_and_changes_nothing(firm):
    firm.book(("ACC-001", "BRKR-B", "AAPL", "BUY", "10", "100"), ("ACC-001", "NSCC", "MSFT", "SELL", "5", "200"))
    first = net()
    before = state()
    audit_count = AuditRecord.objects.filter(record_type__in=("records.trade", "clearing.obligation")).count()

    second = net()

    assert second.pk != first.pk
    assert (second.job.status, second.trades_netted, second.obligations_created) == ("COMPLETED", 0, 0)
    after = state()
    assert after["runs"][:-1] == before["runs"] and {k: v for k, v in after.items() if k != "runs"} == {
        k: v for k, v in before.items() if k != "runs"}
    assert AuditRecord.objects.filter(record_type__in=("records.trade", "clearing.obligation")).count() == audit_count


def test_a_trade_booked_after_a_run_is_netted_by_the_next_run_into_a_new_obligation(firm):
    firm.book(("ACC-001", "BRKR-B", "AAPL", "BUY", "10", "100"))
    first = net()
    original = obligation()
    late, = firm.book(("ACC-001", "BRKR-B", "AAPL", "SELL", "4", "101"))

    second = net()

    assert Obligation.objects.get(pk=original.pk).net_quantity == D(10)  # untouched
    new = obligation(run=second)
    assert (new.net_quantity, new.net_cash, new.trade_count) == (D(-4), D(404), 1)
    assert NettedTrade.objects.get(trade_id=late).obligation_id == new.pk
    assert (first.obligations_created, second.obligations_created) == (1, 1)


def test_a_date_on_which_no_market_settles_is_refused_on_settlement_date(firm):
    with pytest.raises(BusinessRuleError) as refused:
        netting.clearing_run_start(settlement_date=SATURDAY, started_by=firm.ops)
    assert refused.value.as_dict() == {"settlement_date": ["2026-11-21 is not a settlement day of any market."]}
    with pytest.raises(BusinessRuleError) as malformed:
        netting.clearing_run_start(settlement_date="2026-11-2", started_by=firm.ops)
    assert list(malformed.value.as_dict()) == ["settlement_date"]
    # Thanksgiving: DTC is closed, T2S and CREST settle.
    assert netting.netting_date_parse("2026-11-26") == date(2026, 11, 26)
    assert not ClearingRun.objects.exists() and not JobRun.objects.exists()


def test_a_run_is_refused_while_another_of_the_date_is_queued(firm):
    queued = netting.clearing_run_start(settlement_date=SETTLES, started_by=firm.ops)
    with pytest.raises(ConflictError, match=f"Clearing run {queued.pk} for 2026-11-23 is QUEUED"):
        netting.clearing_run_start(settlement_date=SETTLES, started_by=firm.ops)
    other = netting.clearing_run_start(settlement_date=SETTLES_EU, started_by=firm.ops)
    assert ClearingRun.objects.count() == 2 and other.settlement_date == SETTLES_EU


def test_the_chunks_are_instrument_ranges_fixed_when_the_run_is_created_and_open_ended(firm, instruments):
    firm.book(*[("ACC-001", "BRKR-B", symbol, "BUY", "1", "10") for symbol in ("AAPL", "MSFT", "MSFT")])
    params = netting.netting_parameters({"settlement_date": "2026-11-23", "trades_per_chunk": "1"})
    assert params == {"settlement_date": "2026-11-23", "instrument_bounds": [instruments["MSFT"].pk]}
    assert netting.instrument_ranges(params) == [(0, instruments["MSFT"].pk), (instruments["MSFT"].pk, 2**63 - 1)]
    assert netting.netting_parameters(params) == params  # a rerun keeps them
    for bad in ([3, 2], ["x"], [True], [0], "1,2"):
        with pytest.raises(BusinessRuleError, match="increasing instrument ids"):
            netting.netting_parameters({"settlement_date": "2026-11-23", "instrument_bounds": bad})
    with pytest.raises(BusinessRuleError, match="whole number"):
        netting.netting_parameters({"settlement_date": "2026-11-23", "trades_per_chunk": "0"})


def test_an_instrument_added_after_the_run_was_planned_is_covered_by_the_last_range(firm, instruments, monkeypatch):
    from records.reference.services import reference
    from tests.clearing import helpers_netting

    firm.book(("ACC-001", "BRKR-B", "AAPL", "BUY", "1", "10"), ("ACC-001", "BRKR-B", "MSFT", "BUY", "1", "10"))
    with transaction.atomic():
        run = netting.clearing_run_create(settlement_date=SETTLES, started_by="test")
    JobRun.objects.filter(pk=run.job_id).update(parameters=netting.netting_parameters(
        {"settlement_date": "2026-11-23", "trades_per_chunk": 1}))
    with transaction.atomic():
        tesla = reference.instrument_create(actor="test", isin="US88160R1014", symbol="TSLA", name="Tesla",
                                           asset_class="EQUITY", currency="USD", market="XNAS")
    monkeypatch.setitem(helpers_netting.ISINS, "TSLA", tesla.isin)
    late, newest = firm.book(("ACC-001", "BRKR-B", "AAPL", "SELL", "1", "10"),
                             ("ACC-001", "BRKR-B", "TSLA", "BUY", "7", "250"))

    job_run_execute(job_id=run.job_id)

    assert NettedTrade.objects.filter(trade_id__in=(late, newest)).count() == 2
    assert obligation(instrument=tesla).net_quantity == D(7)


class WorkerKilled(BaseException):
    """What a killed worker looks like from inside: nothing after it runs, nothing catches it."""


def _uninterrupted(firm, **params) -> dict:
    """The state an uninterrupted run of SETTLES leaves, found in a savepoint that is then rolled back."""

    class Rollback(Exception):
        pass

    try:
        with transaction.atomic():
            net(**params)
            found = state()
            raise Rollback
    except Rollback:
        return found


def _normalized(found: dict) -> dict:
    """The state without run ids (a sequence hands them out): runs numbered by their order."""
    order = {run_id: n for n, run_id in enumerate(sorted({row[0] for row in found["runs"]}))}
    return {
        "obligations": [(order[row[0]], *row[1:]) for row in found["obligations"]],
        "links": [(trade, (order[key[0]], *key[1:])) for trade, key in found["links"]],
        "trades": found["trades"], "events": found["events"],
        "runs": [(order[row[0]], *row[1:]) for row in found["runs"]],
    }


def _book_three_instruments(firm):
    firm.book(("ACC-001", "BRKR-B", "AAPL", "BUY", "100", "189.25"), ("ACC-001", "BRKR-B", "AAPL", "SELL", "40", "190"),
              ("HOUSE", "NSCC", "MSFT", "BUY", "3", "415.5"), ("HOUSE", "BRKR-B", "MSFT", "SELL", "8", "414"),
              ("ACC-001", "NSCC", "MSFT", "BUY", "1.25", "415.123"))


def test_a_run_whose_worker_dies_after_its_first_chunk_resumes_into_the_state_of_an_uninterrupted_run(
        firm, monkeypatch):
    _book_three_instruments(firm)
    expected = _normalized(_uninterrupted(firm, trades_per_chunk=1))
    real_net, calls = netting.clearing_run_net, []

    def worker(*, job, index):
        calls.append(index)
        if len(calls) == 2:
            raise WorkerKilled
        return real_net(job=job, index=index)

    monkeypatch.setattr("clearing.netting.jobs.clearing_run_net", worker)
    with transaction.atomic():
        run = netting.clearing_run_create(settlement_date=SETTLES, started_by="test")
    JobRun.objects.filter(pk=run.job_id).update(parameters=netting.netting_parameters(
        {"settlement_date": "2026-11-23", "trades_per_chunk": 1}))
    with pytest.raises(WorkerKilled):
        job_run_execute(job_id=run.job_id)
    dead = JobRun.objects.get(pk=run.job_id)
    assert (dead.status, dead.chunks_done, dead.chunks_total) == ("RUNNING", 1, 3)
    assert Obligation.objects.count() == 1

    job = job_run_execute(job_id=run.job_id)  # the redelivered message

    assert calls == [0, 1, 1] and (job.status, job.attempts) == ("COMPLETED", 2)
    assert JobChunk.objects.filter(job=job, step="net").count() == 2
    assert _normalized(state()) == expected


def test_a_failed_run_started_again_continues_the_same_run_into_the_state_of_an_uninterrupted_run(firm, monkeypatch):
    _book_three_instruments(firm)
    expected = _normalized(_uninterrupted(firm, trades_per_chunk=1))
    real_net, failures = netting.clearing_run_net, []

    def flaky(*, job, index):
        if index == 1 and not failures:
            failures.append(index)
            raise RuntimeError("disk full")
        return real_net(job=job, index=index)

    monkeypatch.setattr("clearing.netting.jobs.clearing_run_net", flaky)
    with transaction.atomic():
        run = netting.clearing_run_create(settlement_date=SETTLES, started_by=firm.ops)
    JobRun.objects.filter(pk=run.job_id).update(parameters=netting.netting_parameters(
        {"settlement_date": "2026-11-23", "trades_per_chunk": 1}))
    failed = job_run_execute(job_id=run.job_id)
    assert (failed.status, failed.error) == ("FAILED", "RuntimeError: disk full")

    again = netting.clearing_run_start(settlement_date=SETTLES, started_by=firm.ops)
    assert again.pk == run.pk and again.job.rerun_of_id == failed.pk
    job_run_execute(job_id=again.job_id)

    assert ClearingRun.objects.get().job.status == "COMPLETED"
    assert _normalized(state()) == expected
    takeover = AuditRecord.objects.filter(record_type="clearing.clearingrun", action="UPDATE").order_by("id").first()
    assert (takeover.before["job_id"], takeover.after["job_id"]) == (failed.pk, again.job_id)


def test_a_failed_run_rerun_from_the_jobs_page_takes_the_clearing_run_over(firm, monkeypatch):
    _book_three_instruments(firm)
    expected = _normalized(_uninterrupted(firm))

    def broken(*, job):
        raise RuntimeError("summary lost")

    monkeypatch.setattr("clearing.netting.jobs.clearing_run_summarize", broken)
    failed = net()
    assert failed.job.status == "FAILED" and failed.trades_netted == 0
    monkeypatch.undo()

    rerun = job_rerun(job_id=failed.job_id, started_by=firm.ops)
    assert ClearingRun.objects.get().job_id == failed.job_id  # until the rerun's first chunk
    job_run_execute(job_id=rerun.pk)

    run = ClearingRun.objects.select_related("job").get()
    assert (run.job_id, run.job.status, run.trades_netted) == (rerun.pk, "COMPLETED", 5)
    assert _normalized(state()) == expected


def test_a_run_started_by_run_job_records_its_own_clearing_run(firm):
    firm.book(("ACC-001", "BRKR-B", "AAPL", "BUY", "10", "100"))
    job = job_run_execute(job_id=job_create(kind="clearing-netting", params={"settlement_date": "2026-11-23"},
                                            started_by="command:run_job").pk)
    run = ClearingRun.objects.get()
    assert (job.status, run.job_id, run.settlement_date, run.trades_netted) == ("COMPLETED", job.pk, SETTLES, 1)


def test_a_trade_netted_cannot_be_amended_or_cancelled_and_nothing_changes(firm):
    trade_id, = firm.book(("ACC-001", "BRKR-B", "AAPL", "BUY", "10", "100"))
    net()
    before = (state(), AuditRecord.objects.count())
    with pytest.raises(ConflictError, match="is CLEARED: it can no longer be cancelled"):
        trades.trade_cancel(actor=firm.maker, trade_id=trade_id, reason="booked in error")
    with pytest.raises(ConflictError, match="is CLEARED: it can no longer be amended"):
        trades.trade_amend(actor=firm.maker, trade_id=trade_id, changes={"quantity": D(5)}, reason="wrong")
    assert (state(), AuditRecord.objects.count()) == before


def test_next_settlement_date_skips_days_no_market_settles(firm):
    assert netting.next_settlement_date(after=date(2026, 11, 20)) == SETTLES  # Friday -> Monday
    # New Year's Day closes every market here (Tokyo settles on Christmas Day), then the weekend.
    assert netting.next_settlement_date(after=date(2026, 12, 31)) == date(2027, 1, 4)
