# ruff: noqa: F811 - the fixtures imported from the helpers are parameters of the tests
"""The end-of-day pipeline of a settlement date: every stage in order as a child run, idempotent, stopped by a
failing stage with its reason, and resumed by a rerun without redoing what committed."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from accounting.models import JournalEntry, ReconciliationRun
from backoffice.core.exceptions import BusinessRuleError, ConflictError
from backoffice.core.fields import DATE_FORMAT
from backoffice.core.jobs.models import JobChunk, JobRun
from backoffice.core.jobs.services import job_rerun, job_run_execute
from backoffice.eod import selectors, services
from clearing.models import Obligation
from records.audit.models import AuditRecord
from records.trades.models import Trade
from settlements.fails import jobs as fail_jobs
from settlements.models import SettlementFail, SettlementInstruction, SettlementMovement
from tests.backoffice.helpers_eod import STAGE_KINDS, book_a_day, children, outcome, run_eod
from tests.clearing.helpers_netting import SATURDAY, SETTLES, firm  # noqa: F401

pytestmark = pytest.mark.django_db


def test_the_eod_nets_instructs_settles_or_fails_posts_reconciles_and_surveils_the_day(firm):
    ids = book_a_day(firm)

    job = run_eod()

    assert job.status == "COMPLETED", job.error
    assert [step["name"] for step in job.steps] == [
        "matching", "netting", "settlement", "posting", "mark-to-market", "reconciliation", "surveillance"]
    assert children(job) == [(kind, "COMPLETED") for kind in STAGE_KINDS]
    statuses = dict(Trade.objects.values_list("id", "status"))
    assert statuses[ids[4]] == "BOOKED"  # BRKR-C needs a match: not netted
    assert all(statuses[trade_id] != "BOOKED" for trade_id in ids[:4])
    assert Obligation.objects.count() == 4 and not Obligation.objects.filter(status="OPEN").exists()
    instructions = dict(SettlementInstruction.objects.values_list("id", "status"))
    assert len(instructions) == 4 and set(instructions.values()) <= {"SETTLED", "PARTIAL"}
    short = SettlementInstruction.objects.get(account__code="HOUSE", instrument__symbol="MSFT")
    assert (short.status, short.settled_quantity) == ("PARTIAL", 1000)
    assert SettlementFail.objects.get().unsettled_quantity == 500
    assert SettlementMovement.objects.count() == 4
    assert JournalEntry.objects.exists()
    reconciliation = ReconciliationRun.objects.get()
    assert (reconciliation.as_of, reconciliation.breaks) == (SETTLES, 0)
    surveillance = JobRun.objects.get(kind="compliance-surveillance")
    assert surveillance.parameters == {"trade_date": SETTLES.isoformat()} and surveillance.parent_id == job.pk
    assert [view.status for view in selectors.eod_stages(job)] == ["COMPLETED"] * 7


def test_a_second_eod_of_the_date_adds_nothing(firm):
    book_a_day(firm)
    run_eod()
    before = outcome()

    again = run_eod()

    assert again.status == "COMPLETED", again.error
    assert outcome() == before
    assert again.rows_affected == 0


def test_a_failing_stage_stops_the_chain_with_its_reason_and_later_stages_never_start(firm, monkeypatch):
    book_a_day(firm)

    def broken(job, index):
        raise ValueError("the depository feed is down")

    monkeypatch.setattr(fail_jobs, "_run_accrue", broken)

    job = run_eod()

    assert job.status == "FAILED"
    assert job.error.startswith("EodStageFailed: Settlement failed (job ")
    assert job.error.endswith("ValueError: the depository feed is down")
    assert children(job) == [("clearing-match", "COMPLETED"), ("clearing-netting", "COMPLETED"),
                             ("settlement-run", "FAILED")]
    assert not JobRun.objects.filter(kind__startswith="accounting-").exists()
    assert not JobRun.objects.filter(kind="compliance-surveillance").exists()
    assert [view.status for view in selectors.eod_stages(job)] == [
        "COMPLETED", "COMPLETED", "FAILED", "NOT_STARTED", "NOT_STARTED", "NOT_STARTED", "NOT_STARTED"]


def test_a_rerun_resumes_the_failed_stage_without_redoing_its_committed_chunks(firm, monkeypatch):
    book_a_day(firm)
    real = fail_jobs._run_accrue
    monkeypatch.setattr(fail_jobs, "_run_accrue", lambda job, index: 1 / 0)
    failed = run_eod()
    settlement = JobRun.objects.get(kind="settlement-run")
    settled = list(JobChunk.objects.filter(job=settlement).order_by("id").values_list("step", "index", "rows",
                                                                                        "done_at"))
    assert [row[0] for row in settled] == ["settle", "fail-regsho"]
    movements = SettlementMovement.objects.count()
    monkeypatch.setattr(fail_jobs, "_run_accrue", real)

    rerun = job_rerun(job_id=failed.pk, started_by=firm.ops)
    job_run_execute(job_id=rerun.pk)
    rerun.refresh_from_db()

    assert rerun.status == "COMPLETED", rerun.error
    assert rerun.rerun_of_id == failed.pk
    # The same settlement run, resumed: its committed chunks untouched, only the failed one done.
    settlement.refresh_from_db()
    assert (settlement.status, settlement.attempts) == ("COMPLETED", 2)
    assert list(JobChunk.objects.filter(job=settlement, step__in=["settle", "fail-regsho"]).order_by("id")
                .values_list("step", "index", "rows", "done_at")) == settled
    assert JobChunk.objects.filter(job=settlement).count() == 3
    assert SettlementMovement.objects.count() == movements
    assert JobRun.objects.filter(kind="settlement-run").count() == 1
    # Matching and netting are not run again; the later stages are the rerun's own.
    assert JobRun.objects.filter(kind="clearing-netting").count() == 1
    assert children(rerun) == [(kind, "COMPLETED") for kind in STAGE_KINDS[3:]]
    assert [view.status for view in selectors.eod_stages(rerun)] == ["COMPLETED"] * 7
    resumed = AuditRecord.objects.get(record_type="core.jobrun", record_id=str(settlement.pk), action="UPDATE")
    assert resumed.before["status"] == "FAILED" and resumed.after["status"] == "QUEUED"
    assert "resumed" in resumed.reason


def test_starting_the_eod_of_a_date_whose_last_run_failed_continues_that_run(firm, monkeypatch):
    book_a_day(firm)
    monkeypatch.setattr(fail_jobs, "_run_accrue", lambda job, index: 1 / 0)
    failed = run_eod()
    monkeypatch.undo()

    job = services.eod_run_create(settlement_date=SETTLES, started_by=firm.ops)

    assert job.rerun_of_id == failed.pk


@pytest.mark.parametrize(("value", "message"), [
    (None, "Give the settlement date (YYYY-MM-DD)."),
    ("2026-02-30", DATE_FORMAT),
    (SATURDAY.isoformat(), "2026-11-21 is not a settlement day of any market."),
])
def test_a_missing_impossible_or_non_settlement_date_is_refused(value, message):
    with pytest.raises(BusinessRuleError) as refused:
        services.eod_run_create(settlement_date=value, started_by="test")
    assert (refused.value.field, refused.value.message) == ("settlement_date", message)
    assert not JobRun.objects.exists()


def test_a_future_date_is_refused():
    future = timezone.localdate() + timedelta(days=7)
    with pytest.raises(BusinessRuleError, match="in the future"):
        services.eod_run_create(settlement_date=future.isoformat(), started_by="test")


def test_a_second_start_while_a_run_of_the_date_is_queued_is_a_conflict():
    first = services.eod_run_create(settlement_date=SETTLES, started_by="test")
    with pytest.raises(ConflictError, match=f"already queued \\(run {first.pk}\\)"):
        services.eod_run_create(settlement_date=SETTLES, started_by="test")
    assert JobRun.objects.count() == 1
    assert services.eod_run_create(settlement_date=date(2026, 11, 24), started_by="test").pk != first.pk


def test_a_broker_that_refuses_the_helper_tasks_leaves_the_stages_to_this_worker(firm, monkeypatch, caplog,
                                                                                django_capture_on_commit_callbacks):
    from backoffice.core.jobs import tasks as job_tasks

    book_a_day(firm)

    def refuse(**kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(job_tasks.job_run_task, "delay", refuse)
    job = services.eod_run_create(settlement_date=SETTLES, started_by="test")
    with django_capture_on_commit_callbacks(execute=True) as asked:
        job_run_execute(job_id=job.pk)

    job.refresh_from_db()
    assert job.status == "COMPLETED", job.error
    warnings = [r.getMessage() for r in caplog.records if "no other worker could be asked" in r.getMessage()]
    assert len(asked) == len(warnings) == 7 and all(r.levelname == "WARNING" for r in caplog.records
                                      if "no other worker" in r.getMessage())
