"""The reconciliation of the ledger to the stock record and the cash balances (reconciliation/services.py)."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounting.models import ReconciliationBreak, ReconciliationRun
from accounting.reconciliation import services
from accounting.reconciliation.selectors import RECONCILIATION
from backoffice.core.exceptions import BusinessRuleError, ConflictError
from backoffice.core.jobs.models import JobRun
from backoffice.core.jobs.services import job_create, job_run_execute, job_run_now
from records.audit.models import AuditRecord
from tests import data
from tests.accounting.factories import post_entry
from tests.conftest import make_user
from tests.data import trading_days_before
from tests.records.helpers_trades import book_trades

pytestmark = pytest.mark.django_db


def stock(account, instrument, quantity: str, reference: str, *, value_date: date | None = None) -> None:
    """A stock movement valued today in TIME_ZONE (what the reconciliation's as-of dates count in), by default."""
    data.stock(account, instrument, quantity, reference, value_date=value_date or timezone.localdate())


def cash(account, currency: str, amount: str, reference: str, *, value_date: date | None = None) -> None:
    """A cash movement valued today in TIME_ZONE, by default."""
    data.cash(account, currency, amount, reference, value_date=value_date or timezone.localdate())

D = Decimal


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def aapl(instruments):
    return instruments["AAPL"]


@pytest.fixture
def msft(instruments):
    return instruments["MSFT"]


@pytest.fixture
def client_one(accounts):
    return accounts["ACC-001"]


@pytest.fixture
def house(accounts):
    return accounts["HOUSE"]


def ledger_securities(account, instrument, quantity: str, cost: str, day: date):
    return post_entry(lines=[("INVESTMENTS", cost, quantity), ("SECURITIES_CONTRIBUTED", "-" + cost)],
                      entry_date=day, account=account, instrument=instrument)


def ledger_cash(account, amount: str, day: date, currency: str = "USD"):
    negated = amount[1:] if amount.startswith("-") else "-" + amount
    return post_entry(lines=[("CASH", amount), ("ACCOUNT_FUNDS", negated)], entry_date=day, account=account,
                      currency=currency)


def reconcile(as_of: date, *, started_by=None) -> ReconciliationRun:
    job = job_create(kind=RECONCILIATION, params={"as_of": as_of.isoformat()}, started_by=started_by)
    return services.reconciliation_reconcile(job=job, as_of=as_of)


def breaks_of(run) -> list[tuple]:
    return list(ReconciliationBreak.objects.filter(run=run).order_by("kind", "account__code", "instrument_id",
                                                                      "currency")
                .values_list("kind", "account__code", "instrument__isin", "currency", "ledger", "records",
                             "difference"))


@pytest.fixture
def clean_books(client_one, house, aapl, msft, today):
    """Stock record and cash balances that the ledger agrees with exactly."""
    stock(client_one, aapl, "100", "S-1")
    stock(client_one, msft, "40", "S-2")
    stock(house, aapl, "7.5", "S-3")
    cash(client_one, "USD", "5000.25", "C-1")
    cash(house, "USD", "120", "C-2")
    ledger_securities(client_one, aapl, "100", "18925", today)
    ledger_securities(client_one, msft, "40", "16000", today)
    ledger_securities(house, aapl, "7.5", "1400", today)
    ledger_cash(client_one, "5000.25", today)
    ledger_cash(house, "120", today)


def test_books_that_agree_reconcile_with_zero_breaks_and_count_what_was_checked(clean_books, today):
    run = reconcile(today)

    assert (run.as_of, run.positions_checked, run.balances_checked, run.breaks) == (today, 3, 2, 0)
    assert breaks_of(run) == []


def test_a_position_without_ledger_lines_is_a_break(client_one, aapl, today):
    stock(client_one, aapl, "100", "S-1")

    run = reconcile(today)

    assert breaks_of(run) == [("SECURITIES", "ACC-001", aapl.isin, "", D(0), D(100), D(-100))]
    assert (run.positions_checked, run.balances_checked, run.breaks) == (1, 0, 1)


def test_ledger_lines_without_a_position_are_a_break(client_one, msft, today):
    ledger_securities(client_one, msft, "25", "10000", today)

    run = reconcile(today)

    assert breaks_of(run) == [("SECURITIES", "ACC-001", msft.isin, "", D(25), D(0), D(25))]
    assert run.breaks == 1


def test_a_quantity_difference_is_a_break_with_both_figures(client_one, aapl, today):
    stock(client_one, aapl, "100", "S-1")
    ledger_securities(client_one, aapl, "90", "17000", today)

    run = reconcile(today)

    assert breaks_of(run) == [("SECURITIES", "ACC-001", aapl.isin, "", D(90), D(100), D(-10))]


def test_a_cash_difference_is_a_break_with_exact_ledger_records_and_difference(client_one, house, today):
    cash(client_one, "USD", "1000.50", "C-1")
    cash(client_one, "USD", "-200.25", "C-2")
    ledger_cash(client_one, "800.20", today)
    ledger_cash(house, "50", today)

    run = reconcile(today)

    assert breaks_of(run) == [("CASH", "ACC-001", None, "USD", D("800.2"), D("800.25"), D("-0.05")),
                              ("CASH", "HOUSE", None, "USD", D(50), D(0), D(50))]
    assert (run.positions_checked, run.balances_checked, run.breaks) == (0, 2, 2)


def test_a_zero_position_without_ledger_lines_is_neither_checked_nor_a_break(client_one, aapl, today):
    stock(client_one, aapl, "100", "S-1")
    stock(client_one, aapl, "-100", "S-2")

    run = reconcile(today)

    assert (run.positions_checked, run.breaks) == (0, 0)


def test_cash_in_two_currencies_is_reconciled_per_currency(client_one, today):
    cash(client_one, "USD", "100", "C-1")
    cash(client_one, "EUR", "300", "C-2")
    ledger_cash(client_one, "100", today)

    run = reconcile(today)

    assert breaks_of(run) == [("CASH", "ACC-001", None, "EUR", D(0), D(300), D(-300))]
    assert run.balances_checked == 2


def test_a_past_date_compares_both_sides_as_of_that_date(client_one, aapl, today):
    earlier = today - timedelta(days=3)
    stock(client_one, aapl, "100", "S-1", value_date=earlier)
    stock(client_one, aapl, "50", "S-2", value_date=today)
    cash(client_one, "USD", "70", "C-1", value_date=today)
    ledger_securities(client_one, aapl, "100", "18000", earlier)
    ledger_securities(client_one, aapl, "50", "9000", today)
    ledger_cash(client_one, "70", today)

    assert breaks_of(reconcile(earlier)) == []
    assert breaks_of(reconcile(today)) == []
    before_everything = reconcile(earlier - timedelta(days=1))
    assert (before_everything.positions_checked, before_everything.balances_checked, before_everything.breaks) == (
        0, 0, 0)


def test_trades_booked_with_a_later_trade_date_are_not_in_the_stock_record_of_an_earlier_date(
        client_one, aapl, counterparties):
    newest, older = trading_days_before(timezone.localdate(), 2)
    book_trades(make_user("oms", "front_office"),
                [("T-1", "ACC-001", "BRKR-A", aapl.isin, "BUY", "30", "100", newest, "0")])

    as_of_older = reconcile(older)
    as_of_newest = reconcile(newest)

    assert breaks_of(as_of_older) == []
    assert breaks_of(as_of_newest) == [("SECURITIES", "ACC-001", aapl.isin, "", D(0), D(30), D(-30))]


def test_a_rerun_of_the_same_job_returns_its_run_and_writes_no_more_breaks(client_one, aapl, today):
    stock(client_one, aapl, "100", "S-1")
    job = job_create(kind=RECONCILIATION, params={"as_of": today.isoformat()})
    first = services.reconciliation_reconcile(job=job, as_of=today)
    audit_count = AuditRecord.objects.count()

    again = services.reconciliation_reconcile(job=job, as_of=today)

    assert again.pk == first.pk
    assert ReconciliationRun.objects.count() == 1
    assert ReconciliationBreak.objects.count() == 1
    assert AuditRecord.objects.count() == audit_count


def test_a_rerun_of_the_same_job_as_of_another_date_is_refused_and_changes_nothing(client_one, aapl, today):
    stock(client_one, aapl, "100", "S-1")
    job = job_create(kind=RECONCILIATION, params={"as_of": today.isoformat()})
    services.reconciliation_reconcile(job=job, as_of=today)

    with pytest.raises(ConflictError):
        services.reconciliation_reconcile(job=job, as_of=today - timedelta(days=1))

    assert ReconciliationRun.objects.get().as_of == today
    assert ReconciliationBreak.objects.count() == 1


def test_the_run_and_each_break_are_audited(client_one, aapl, today):
    stock(client_one, aapl, "100", "S-1")
    user = make_user("acct", "accounting")

    run = reconcile(today, started_by=user)

    run_record = AuditRecord.objects.get(record_type="accounting.reconciliationrun", record_id=str(run.pk))
    assert (run_record.action, run_record.actor_label, run_record.after["breaks"]) == ("CREATE", "acct", 1)
    break_row = ReconciliationBreak.objects.get(run=run)
    break_record = AuditRecord.objects.get(record_type="accounting.reconciliationbreak", record_id=str(break_row.pk))
    assert break_record.after["difference"] == "-100"


def test_each_kind_is_compared_in_one_statement_whatever_the_number_of_positions(client_one, house, aapl, msft,
                                                                                 today):
    for n, (account, instrument) in enumerate([(client_one, aapl), (client_one, msft), (house, aapl),
                                               (house, msft)]):
        stock(account, instrument, str(10 + n), f"S-{n}")
        if instrument == aapl:
            cash(account, "USD", str(100 + n), f"C-{n}")
    job = job_create(kind=RECONCILIATION, params={"as_of": today.isoformat()})

    with CaptureQueriesContext(connection) as queries:
        run = services.reconciliation_reconcile(job=job, as_of=today)

    assert run.breaks == 6
    statements = [query["sql"] for query in queries.captured_queries]
    assert sum("INSERT INTO accounting_reconciliationbreak" in sql for sql in statements) == 2
    assert not any("records_position" in sql and "accounting_reconciliationbreak" not in sql for sql in statements)


def test_breaks_are_read_and_audited_a_batch_at_a_time_and_every_one_is_counted(client_one, house, aapl, msft,
                                                                                today, monkeypatch):
    """A first reconciliation of a big book can break on every position: the breaks are audited as they are
    read, AUDIT_BATCH at a time (a worker's memory stays flat), and none is lost between batches."""
    for n, (account, instrument) in enumerate([(client_one, aapl), (client_one, msft), (house, aapl),
                                               (house, msft)]):
        stock(account, instrument, str(10 + n), f"S-{n}")
        cash(account, "USD", str(100 + n), f"C-{n}")
    monkeypatch.setattr(services, "AUDIT_BATCH", 3)
    batches = []
    audit_log_bulk = services.audit_log_bulk
    monkeypatch.setattr(services, "audit_log_bulk", lambda **kw: batches.append(len(kw["entries"])) or
                        audit_log_bulk(**kw))

    run = reconcile(today)

    assert (run.positions_checked, run.balances_checked, run.breaks) == (4, 2, 6)
    assert batches == [3, 1, 2]  # securities: 4 breaks in 3 + 1; cash: 2
    audited = set(AuditRecord.objects.filter(record_type="accounting.reconciliationbreak")
                  .values_list("record_id", flat=True))
    assert audited == {str(pk) for pk in ReconciliationBreak.objects.filter(run=run).values_list("pk", flat=True)}


# --- parameters, starting, the job ---

def test_as_of_defaults_to_today_and_is_read_strictly(today):
    assert services.reconciliation_parameters({}) == {"as_of": today.isoformat()}
    assert services.reconciliation_parameters({"as_of": "2026-01-05"}) == {"as_of": "2026-01-05"}
    for bad in ("20260105", "2026-1-5", "2026-02-30", 20260105):
        with pytest.raises(BusinessRuleError) as exc:
            services.reconciliation_parameters({"as_of": bad})
        assert exc.value.field == "as_of"


def test_a_day_to_come_is_refused(today):
    with pytest.raises(BusinessRuleError) as exc:
        services.reconciliation_parameters({"as_of": (today + timedelta(days=1)).isoformat()})
    assert exc.value.field == "as_of"


def test_starting_a_reconciliation_records_an_audited_queued_job(today, django_capture_on_commit_callbacks):
    user = make_user("acct", "accounting")

    with django_capture_on_commit_callbacks(execute=False):
        job = services.reconciliation_start(as_of=None, started_by=user)

    assert (job.kind, job.status, job.parameters, job.started_by_label) == (
        RECONCILIATION, JobRun.Status.QUEUED, {"as_of": today.isoformat()}, "acct")
    assert AuditRecord.objects.filter(record_type="core.jobrun", record_id=str(job.pk), action="CREATE").exists()


def test_the_job_completes_with_the_runs_counts_in_its_result(clean_books, client_one, aapl, today):
    stock(client_one, aapl, "1", "S-extra")

    job = job_run_now(kind=RECONCILIATION, params={"as_of": today.isoformat()}, started_by="command")

    run = ReconciliationRun.objects.get(job=job)
    assert job.status == JobRun.Status.COMPLETED
    assert job.steps == [{"name": "reconcile", "chunks": 1, "done": 1}]
    assert job.result == [{"rows": 1, "reconciliation_run": run.pk, "as_of": today.isoformat(),
                           "positions_checked": 3, "balances_checked": 2, "breaks": 1}]
    assert breaks_of(run) == [("SECURITIES", "ACC-001", aapl.isin, "", D(100), D(101), D(-1))]


def test_the_job_executed_again_changes_nothing(clean_books, today):
    job = job_run_now(kind=RECONCILIATION, params={"as_of": today.isoformat()})

    again = job_run_execute(job_id=job.pk)

    assert again.status == JobRun.Status.COMPLETED
    assert ReconciliationRun.objects.filter(job=job).count() == 1


def test_the_task_reconciles_today_as_a_completed_job(clean_books, today):
    from accounting.reconciliation.tasks import reconciliation_run_task

    job_id = reconciliation_run_task.apply().get()

    job = JobRun.objects.get(pk=job_id)
    assert (job.kind, job.status, job.parameters, job.started_by_label) == (
        RECONCILIATION, JobRun.Status.COMPLETED, {"as_of": today.isoformat()}, "beat")
    assert ReconciliationRun.objects.get(job=job).breaks == 0
