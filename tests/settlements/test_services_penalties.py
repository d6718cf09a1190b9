# ruff: noqa: F811 - the fixtures imported from helpers_fails are parameters of the tests
"""Daily CSDR cash penalties: exact amounts per type of fail and asset class, the rate effective on the day,
the day's closing price, settlement days of each market, idempotent reruns, chunks; the fail-penalties job,
its beat task and its step in a settlement run; Reg SHO bases filled for new fails to deliver."""

from datetime import date, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from backoffice.core.exceptions import BusinessRuleError
from backoffice.core.jobs import registry
from backoffice.core.jobs.models import JobRun
from backoffice.core.jobs.registry import JobKind
from backoffice.core.jobs.services import job_create, job_run_execute, job_run_now
from records.audit.models import AuditRecord
from settlements.fails import services
from settlements.fails.tasks import fail_penalties_task
from settlements.models import FailPenalty, PenaltyRate, SettlementFail
from tests.settlements.helpers_fails import EU_SETTLES, US_SETTLES, desk  # noqa: F401

pytestmark = pytest.mark.django_db

CASH_RATE = Decimal("0.0000657534")  # 2.40% / 365, as seeded (10 places)
THANKSGIVING = date(2026, 11, 26)  # DTC shut, T2S and CREST open


def accrue(day: date, **bounds) -> dict:
    with transaction.atomic():
        return services.fail_penalties_accrue(penalty_date=day, actor="test", **bounds)


def penalties(day: date | None = None) -> list[tuple]:
    rows = FailPenalty.objects.order_by("fail_id", "penalty_date")
    if day is not None:
        rows = rows.filter(penalty_date=day)
    return list(rows.values_list("fail_id", "penalty_date", "unsettled_quantity", "reference_price", "rate", "amount",
                                 "currency"))


def test_a_fail_to_deliver_for_lack_of_securities_pays_the_rate_on_the_unsettled_quantity_at_the_closing_price(desk):
    fail = desk.fail(symbol="AAPL", side="SELL", quantity="100")
    desk.price("AAPL", date(2026, 11, 20), "180")
    desk.price("AAPL", US_SETTLES, "189.25")
    desk.price("AAPL", US_SETTLES + timedelta(days=1), "999")  # after the day: not its closing price

    result = accrue(US_SETTLES)

    # 100 x 189.25 = 18,925 x 1 bp (liquid shares) = 1.8925, rounded half up to cents.
    assert penalties() == [(fail.pk, US_SETTLES, Decimal("100"), Decimal("189.25"), Decimal("0.0001"),
                            Decimal("1.89"), "USD")]
    assert (result["rows"], result["due"], result["unpriced"], result["amounts"]) == (1, 1, 0, {"USD": "1.89"})


def test_lack_of_cash_pays_the_cash_rate_on_the_unsettled_cash(desk):
    fail = desk.fail(symbol="MSFT", side="BUY", quantity="100", price="415.10", cause="CASH")

    accrue(US_SETTLES)  # no price needed

    # 41,510 x 0.0000657534 = 2.72942...; reference price: the unsettled cash per unsettled unit.
    assert penalties() == [(fail.pk, US_SETTLES, Decimal("100"), Decimal("415.1"), CASH_RATE, Decimal("2.73"),
                            "USD")]


def test_a_partial_fail_is_penalised_on_what_is_still_unsettled(desk):
    cash_fail = desk.fail(symbol="MSFT", side="BUY", quantity="100", price="415.10", cause="CASH",
                          status="PARTIAL", settled_quantity="40", settled_cash="-16604", unsettled="60")
    securities_fail = desk.fail(symbol="AAPL", side="SELL", quantity="100", status="PARTIAL", settled_quantity="75",
                                settled_cash="14193.75", unsettled="25")
    desk.price("AAPL", US_SETTLES, "190.10")

    accrue(US_SETTLES)

    assert penalties() == [
        # 24,906 x 0.0000657534 = 1.6376...
        (cash_fail.pk, US_SETTLES, Decimal("60"), Decimal("415.1"), CASH_RATE, Decimal("1.64"), "USD"),
        # 25 x 190.10 = 4,752.50 x 1 bp = 0.47525
        (securities_fail.pk, US_SETTLES, Decimal("25"), Decimal("190.1"), Decimal("0.0001"), Decimal("0.48"), "USD"),
    ]


def test_the_counterpartys_fails_take_the_rate_of_what_it_lacked(desk):
    # They did not deliver to us: lack of securities; they did not pay for our delivery: lack of cash.
    not_delivered = desk.fail(symbol="AAPL", side="BUY", quantity="100", cause="COUNTERPARTY")
    not_paid = desk.fail(symbol="MSFT", side="SELL", quantity="10", price="415.10", cause="COUNTERPARTY")
    desk.price("AAPL", US_SETTLES, "200")
    desk.price("MSFT", US_SETTLES, "420")

    accrue(US_SETTLES)

    assert penalties() == [
        (not_delivered.pk, US_SETTLES, Decimal("100"), Decimal("200"), Decimal("0.0001"), Decimal("2.00"), "USD"),
        # 4,151 x 0.0000657534 = 0.27294...
        (not_paid.pk, US_SETTLES, Decimal("10"), Decimal("415.1"), CASH_RATE, Decimal("0.27"), "USD"),
    ]


def test_each_asset_class_takes_its_own_rate(desk):
    bund = desk.fail(symbol="BUND", side="SELL", quantity="1000000", price="0.98765", trade_date=date(2026, 11, 20))
    ust = desk.fail(symbol="UST", side="SELL", quantity="2500000", price="0.99125")
    desk.price("BUND", EU_SETTLES, "0.9881")
    desk.price("UST", US_SETTLES, "0.99125")

    accrue(US_SETTLES)
    accrue(EU_SETTLES)

    assert penalties() == [
        # 988,100 x 0.10 bp (sovereign debt) = 9.881
        (bund.pk, EU_SETTLES, Decimal("1000000"), Decimal("0.9881"), Decimal("0.00001"), Decimal("9.88"), "EUR"),
        # 2,478,125 x 0.10 bp = 24.78125 on Monday, and again on Tuesday (same price, the latest)
        (ust.pk, US_SETTLES, Decimal("2500000"), Decimal("0.99125"), Decimal("0.00001"), Decimal("24.78"), "USD"),
        (ust.pk, EU_SETTLES, Decimal("2500000"), Decimal("0.99125"), Decimal("0.00001"), Decimal("24.78"), "USD"),
    ]


def test_the_rate_effective_on_each_day_applies(desk):
    fail = desk.fail(symbol="AAPL", side="SELL", quantity="100")
    desk.price("AAPL", US_SETTLES, "200")
    PenaltyRate.objects.create(asset_class="EQUITY", fail_type="SECURITIES", rate=Decimal("0.00015"), source="test",
                               effective_from=date(2026, 11, 25))
    PenaltyRate.objects.create(asset_class="EQUITY", fail_type="SECURITIES", rate=Decimal("0.5"), source="test",
                               effective_from=date(2026, 12, 1))  # later still: not yet

    for day in (date(2026, 11, 23), date(2026, 11, 24), date(2026, 11, 25), date(2026, 11, 27)):
        accrue(day)

    assert [(row[1], row[4], row[5]) for row in penalties()] == [
        (date(2026, 11, 23), Decimal("0.0001"), Decimal("2.00")),
        (date(2026, 11, 24), Decimal("0.0001"), Decimal("2.00")),
        (date(2026, 11, 25), Decimal("0.00015"), Decimal("3.00")),
        (date(2026, 11, 27), Decimal("0.00015"), Decimal("3.00")),
    ]
    assert fail.penalties.count() == 4


def test_penalties_accrue_only_on_settlement_days_of_the_fails_market(desk):
    us = desk.fail(symbol="AAPL", side="SELL", quantity="100")
    eu = desk.fail(symbol="SAP", side="SELL", quantity="50", price="187.36")
    desk.price("AAPL", US_SETTLES, "200")
    desk.price("SAP", EU_SETTLES, "190")

    result = accrue(THANKSGIVING)
    saturday = accrue(date(2026, 11, 28))

    # 50 x 190 x 1 bp = 0.95 EUR; DTC is shut on Thanksgiving, T2S open; nothing settles on a Saturday.
    assert penalties() == [(eu.pk, THANKSGIVING, Decimal("50"), Decimal("190"), Decimal("0.0001"), Decimal("0.95"),
                            "EUR")]
    assert (result["due"], saturday["due"], saturday["rows"]) == (1, 0, 0)
    assert not us.penalties.exists()


def test_only_fails_open_on_the_day_accrue(desk):
    open_fail = desk.fail(symbol="AAPL", side="SELL", quantity="10")
    settled_on_tuesday = desk.fail(symbol="AAPL", side="SELL", quantity="20", closed_on=EU_SETTLES)
    failing_from_tuesday = desk.fail(symbol="AAPL", side="SELL", quantity="30", failed_on=EU_SETTLES)
    cancelled = desk.fail(symbol="AAPL", side="SELL", quantity="40", status="CANCELLED")
    desk.price("AAPL", US_SETTLES, "100")

    accrue(US_SETTLES)
    accrue(EU_SETTLES)

    assert [(row[0], row[1], row[5]) for row in penalties()] == [
        (open_fail.pk, US_SETTLES, Decimal("0.10")),
        (open_fail.pk, EU_SETTLES, Decimal("0.10")),
        (settled_on_tuesday.pk, US_SETTLES, Decimal("0.20")),
        (failing_from_tuesday.pk, EU_SETTLES, Decimal("0.30")),
    ]
    assert not cancelled.penalties.exists()


def test_a_fail_without_a_closing_price_gets_no_penalty_and_is_counted(desk):
    fail = desk.fail(symbol="AAPL", side="SELL", quantity="100")
    desk.price("AAPL", US_SETTLES + timedelta(days=1), "170")  # only after the day

    result = accrue(US_SETTLES)

    assert penalties() == []
    assert (result["rows"], result["due"], result["unpriced"], result["unpriced_fails"]) == (0, 1, 1, [fail.pk])


def test_a_rerun_of_a_day_adds_nothing_and_audits_nothing(desk):
    desk.fail(symbol="AAPL", side="SELL", quantity="100")
    desk.fail(symbol="MSFT", side="BUY", quantity="100", price="415.10", cause="CASH")
    desk.price("AAPL", US_SETTLES, "200")
    first = accrue(US_SETTLES)
    audited = AuditRecord.objects.filter(record_type="settlements.failpenalty").count()
    before = penalties()

    again = accrue(US_SETTLES)

    assert (first["rows"], again["rows"], again["due"]) == (2, 0, 2)
    assert penalties() == before
    assert AuditRecord.objects.filter(record_type="settlements.failpenalty").count() == audited == 2


def test_each_penalty_is_audited_with_its_figures(desk):
    fail = desk.fail(symbol="AAPL", side="SELL", quantity="100")
    desk.price("AAPL", US_SETTLES, "189.25")

    accrue(US_SETTLES)

    penalty = FailPenalty.objects.get()
    record = AuditRecord.objects.get(record_type="settlements.failpenalty")
    assert (record.action, record.record_id, record.actor_label, record.before) == ("CREATE", str(penalty.pk), "test",
                                                                                    None)
    assert record.after == {"id": penalty.pk, "fail_id": fail.pk, "penalty_date": "2026-11-23",
                            "unsettled_quantity": "100", "reference_price": "189.25", "rate": "0.0001",
                            "amount": "1.89", "currency": "USD"}


def test_chunks_of_fail_ids_together_accrue_what_one_pass_does(desk, monkeypatch):
    fails = [desk.fail(symbol="AAPL", side="SELL", quantity=str(10 * n)) for n in range(1, 6)]
    desk.price("AAPL", US_SETTLES, "100")
    monkeypatch.setattr(services, "FAILS_PER_CHUNK", 2)

    job = job_run_now(kind="fail-penalties", params={"date": "2026-11-23"}, started_by="test")

    assert job.status == "COMPLETED", job.error
    assert job.parameters == {"date": "2026-11-23", "fail_bounds": [fails[2].pk, fails[4].pk]}
    assert [(step["name"], step["chunks"], step["done"]) for step in job.steps] == [("regsho", 1, 1),
                                                                                   ("accrue", 3, 3)]
    assert [row[5] for row in penalties()] == [Decimal("0.10"), Decimal("0.20"), Decimal("0.30"), Decimal("0.40"),
                                               Decimal("0.50")]
    # regsho filled five fails, accrue inserted five penalties
    assert job.rows_affected == 10


def test_the_job_refuses_a_day_not_over_a_day_no_market_settles_and_a_malformed_date(desk):
    today, tomorrow = timezone.localdate(), timezone.localdate() + timedelta(days=1)
    for value, message in [(tomorrow.isoformat(), "not over yet"), (today.isoformat(), "not over yet"),
                           ("2026-11-28", "not a settlement day of any market"),
                           ("2026-11-31", "YYYY-MM-DD"), (None, "YYYY-MM-DD")]:
        with pytest.raises(BusinessRuleError) as refused:
            job_create(kind="fail-penalties", params={"date": value})
        assert refused.value.field == "date"
        assert message in refused.value.message
    assert not JobRun.objects.exists()


def test_new_fails_to_deliver_us_equities_get_the_long_basis_and_its_deadline_others_nothing(desk):
    us_deliver = desk.fail(symbol="AAPL", side="SELL", quantity="100")  # settles Mon 23 Nov
    us_receive = desk.fail(symbol="AAPL", side="BUY", quantity="100")
    eu_deliver = desk.fail(symbol="SAP", side="SELL", quantity="10")
    bond = desk.fail(symbol="UST", side="SELL", quantity="100000", price="0.99")
    short = desk.fail(symbol="MSFT", side="SELL", quantity="5", regsho_basis="SHORT",
                      close_out_deadline=date(2026, 11, 24))
    later = desk.fail(symbol="MSFT", side="SELL", quantity="7", failed_on=date(2026, 11, 30))

    with transaction.atomic():
        result = services.fail_regsho_fill(as_of=EU_SETTLES, actor="test")

    rows = {fail.pk: (fail.regsho_basis, fail.close_out_deadline) for fail in SettlementFail.objects.all()}
    # Long: the third settlement day after 23 Nov, Thanksgiving (26 Nov) not one.
    assert rows == {us_deliver.pk: ("LONG", date(2026, 11, 27)), us_receive.pk: ("", None),
                    eu_deliver.pk: ("", None), bond.pk: ("", None), short.pk: ("SHORT", date(2026, 11, 24)),
                    later.pk: ("", None)}
    assert result == {"rows": 1, "regsho_filled": 1}
    record = AuditRecord.objects.get(record_type="settlements.settlementfail")
    assert (record.action, record.record_id, record.before, record.after) == (
        "UPDATE", str(us_deliver.pk), {"close_out_deadline": None, "regsho_basis": ""},
        {"close_out_deadline": "2026-11-27", "regsho_basis": "LONG"})
    with transaction.atomic():
        assert services.fail_regsho_fill(as_of=EU_SETTLES, actor="test") == {"rows": 0, "regsho_filled": 0}


def test_starting_the_job_audits_it_and_queues_it_once_committed(desk, django_capture_on_commit_callbacks):
    desk.fail(symbol="AAPL", side="SELL", quantity="100")
    desk.price("AAPL", US_SETTLES, "200")

    with django_capture_on_commit_callbacks(execute=True):
        job = services.fail_penalties_start(penalty_date=US_SETTLES, started_by=desk.ops)

    job.refresh_from_db()
    assert (job.kind, job.status, job.started_by_label, job.rows_affected) == ("fail-penalties", "COMPLETED",
                                                                              "settler", 2)
    record = AuditRecord.objects.get(record_type="core.jobrun")
    assert (record.action, record.record_id, record.actor_label) == ("CREATE", str(job.pk), "settler")
    assert AuditRecord.objects.get(record_type="settlements.failpenalty").actor_label == "settler"


def test_the_beat_task_accrues_the_given_date_and_skips_a_day_nothing_settles(desk):
    desk.fail(symbol="AAPL", side="SELL", quantity="100")
    desk.price("AAPL", US_SETTLES, "200")

    job_id = fail_penalties_task.apply(kwargs={"date": "2026-11-23"}).get()
    skipped = fail_penalties_task.apply(kwargs={"date": "2026-11-28"}).get()

    job = JobRun.objects.get(pk=job_id)
    assert (job.status, job.started_by_label, job.parameters["date"]) == ("COMPLETED", "beat", "2026-11-23")
    assert skipped is None
    assert len(penalties()) == 1


def test_a_settlement_run_ends_with_the_reg_sho_deadlines_and_the_penalties_of_the_day_before(desk):
    fail = desk.fail(symbol="AAPL", side="SELL", quantity="100")
    desk.price("AAPL", US_SETTLES, "200")
    kind = registry.job_kind_register(JobKind("test-settlement-run", "Settle", lambda parameters: []))
    try:
        with override_settings(JOB_STEP_EXTENSIONS={
                "test-settlement-run": ["settlements.fails.jobs.settlement_run_steps"]}):
            job = job_run_execute(job_id=job_create(kind=kind.name, params={"settlement_date": "2026-11-24"}).pk)
    finally:
        registry.JOB_KINDS.pop(kind.name, None)

    assert job.status == "COMPLETED", job.error
    assert [step["name"] for step in job.steps] == ["fail-regsho", "fail-penalties"]
    fail.refresh_from_db()
    assert (fail.regsho_basis, fail.close_out_deadline) == ("LONG", date(2026, 11, 27))
    assert [(row[1], row[5]) for row in penalties()] == [(US_SETTLES, Decimal("2.00"))]


def test_the_day_before_is_the_last_day_some_market_settled():
    assert services.previous_penalty_day(date(2026, 11, 24)) == date(2026, 11, 23)
    assert services.previous_penalty_day(date(2026, 11, 23)) == date(2026, 11, 20)  # a Monday: the Friday
    assert services.previous_penalty_day(date(2026, 11, 27)) == THANKSGIVING  # T2S and CREST settled


def test_the_beat_task_without_a_date_accrues_the_last_settlement_day_before_today(desk):
    job = JobRun.objects.get(pk=fail_penalties_task.apply().get())
    assert job.parameters["date"] == services.previous_penalty_day(timezone.localdate()).isoformat()
    assert job.status == "COMPLETED"


def test_run_job_accrues_a_day_from_the_command_line(desk):
    desk.fail(symbol="AAPL", side="SELL", quantity="100")
    desk.price("AAPL", US_SETTLES, "200")
    out = StringIO()

    call_command("run_job", "fail-penalties", "--param", "date=2026-11-23", "--now", stdout=out)

    job = JobRun.objects.get(kind="fail-penalties")
    assert out.getvalue().strip() == f"job {job.pk} fail-penalties COMPLETED"
    assert job.started_by_label == "command:run_job"
    assert [(row[1], row[5]) for row in penalties()] == [(US_SETTLES, Decimal("2.00"))]
    with pytest.raises(CommandError, match="is not a settlement day of any market"):
        call_command("run_job", "fail-penalties", "--param", "date=2026-11-28", "--now", stdout=StringIO())
