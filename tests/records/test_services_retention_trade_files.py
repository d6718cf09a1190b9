"""Retention of trade files: a file and its staged rows (the per-row report) are purged together once
past retention and final, never while booked, never under a hold on the file; the trades stay."""

import dataclasses
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backoffice.core.exceptions import BusinessRuleError
from backoffice.core.jobs.models import JobRun
from backoffice.core.jobs.services import job_rerun, job_resume, job_run_execute
from records.retention import rules
from records.retention.models import LegalHold, RetentionPolicy
from records.retention.rules import tombstone_verify
from records.retention.services import REGULATORY_MINIMUM_YEARS, legal_hold_place, retention_cutoff, tombstone_ids
from records.trades.files import services as files
from records.trades.files.api import MISSING
from records.trades.files.models import TradeFile, TradeFileRow
from records.trades.models import Trade
from tests.conftest import client_for, make_user
from tests.records.helpers_retention import at, purge, tombstones
from tests.records.test_api_trade_files import csv_text, row

pytestmark = pytest.mark.django_db

TYPE = "records.tradefile"


@pytest.fixture
def desk(instruments, accounts, counterparties):
    return make_user("desk", "front_office")


def staged(user, *, rows: int = 3, prefix: str = "F", uploaded_days_ago: int | None = None,
           status: str = "COMPLETED") -> TradeFile:
    """Stage a file of `rows` trades; COMPLETED marks it booked (completed_at set), other statuses its job's."""
    content = csv_text([row(f"{prefix}-{n}") for n in range(rows)]).encode()
    file = files.trade_file_upload(uploaded_by=user, stream=io.BytesIO(content), name=f"{prefix}.csv",
                                   format="csv")
    JobRun.objects.filter(pk=file.job_id).update(status=status)
    if status == "COMPLETED":
        TradeFile.objects.filter(pk=file.pk).update(completed_at=timezone.now())
    if uploaded_days_ago is not None:
        when = at(timezone.localdate() - timedelta(days=uploaded_days_ago))
        TradeFile.objects.filter(pk=file.pk).update(uploaded_at=when)
    return TradeFile.objects.get(pk=file.pk)


def booked(user, *, prefix: str, uploaded_days_ago: int) -> TradeFile:
    """Stage a file and book it as the worker would, then age it."""
    file = staged(user, prefix=prefix, status="QUEUED")
    assert job_run_execute(job_id=file.job_id).status == JobRun.Status.COMPLETED
    TradeFile.objects.filter(pk=file.pk).update(
        uploaded_at=at(timezone.localdate() - timedelta(days=uploaded_days_ago)))
    return TradeFile.objects.get(pk=file.pk)


OLD, YOUNG = 4 * 366, 2 * 365  # days before today: past three years, within them


def rows_of(*files_) -> int:
    return TradeFileRow.objects.filter(file__in=files_).count()


def test_trade_files_are_kept_three_years_under_sec_rule_17a_4_b_4_and_never_less():
    policy = RetentionPolicy.objects.get(record_type=TYPE)
    assert (policy.retention_years, REGULATORY_MINIMUM_YEARS[TYPE]) == (3, 3)
    assert policy.rule.startswith("SEC Rule 17a-4(b)(4)")
    today = timezone.localdate()
    assert retention_cutoff(TYPE, today) == today.replace(year=today.year - 3)


def test_the_purge_removes_old_completed_files_with_all_their_rows_and_nothing_else(desk):
    old_booked = booked(desk, prefix="OB", uploaded_days_ago=OLD)
    old_staged = staged(desk, rows=5, prefix="OS", uploaded_days_ago=OLD)
    young = staged(desk, rows=4, prefix="Y", uploaded_days_ago=YOUNG)
    trades = sorted(Trade.objects.values_list("pk", flat=True))
    assert len(trades) == 3 and rows_of(old_booked, old_staged) == 8

    result = purge(TYPE)

    assert (result.purged, result.chunks) == (2, 1)
    assert result.deleted == {"records.tradefilerow": 8, TYPE: 2}
    assert list(TradeFile.objects.values_list("pk", flat=True)) == [young.pk]
    assert TradeFileRow.objects.filter(file__in=[old_booked.pk, old_staged.pk]).count() == 0
    assert list(TradeFileRow.objects.order_by("seq").values_list("file_id", "external_ref")) == [
        (young.pk, f"Y-{n}") for n in range(4)]
    assert sorted(Trade.objects.values_list("pk", flat=True)) == trades  # the blotter keeps its six years


def test_the_database_does_not_cascade_so_the_purge_deletes_the_rows_itself():
    with connection.cursor() as cursor:
        cursor.execute("SELECT confdeltype FROM pg_constraint WHERE conrelid = 'records_tradefilerow'::regclass "
                       "AND contype = 'f'")
        assert cursor.fetchall() == [("a",)]  # NO ACTION: Django's CASCADE is Django's own


def test_a_file_whose_booking_is_queued_or_running_is_never_purged(desk):
    queued = staged(desk, prefix="Q", uploaded_days_ago=OLD, status="QUEUED")
    running = staged(desk, prefix="R", uploaded_days_ago=OLD, status="RUNNING")
    assert purge(TYPE, dry_run=True).purged == 0
    assert purge(TYPE).purged == 0
    assert set(TradeFile.objects.values_list("pk", flat=True)) == {queued.pk, running.pk}
    assert rows_of(queued, running) == 6 and tombstones(TYPE) == []


def test_a_failed_file_is_purged_unless_a_rerun_or_a_resume_of_its_job_may_still_book_it(desk):
    rerun = staged(desk, prefix="RR", uploaded_days_ago=OLD, status="FAILED")
    resumed = staged(desk, prefix="RS", uploaded_days_ago=OLD, status="FAILED")
    failed = staged(desk, prefix="FA", uploaded_days_ago=OLD, status="FAILED")
    again = job_rerun(job_id=rerun.job_id, started_by=desk)  # the file still points at the failed run
    job_resume(job_id=resumed.job_id, started_by=desk)
    assert TradeFile.objects.get(pk=rerun.pk).job_id != again.pk

    result = purge(TYPE)

    assert result.purged == 1 and result.deleted == {"records.tradefilerow": 3, TYPE: 1}
    assert set(TradeFile.objects.values_list("pk", flat=True)) == {rerun.pk, resumed.pk}
    assert not TradeFile.objects.filter(pk=failed.pk).exists()


def test_a_record_hold_keeps_the_file_and_an_account_hold_does_not(desk, clerk, accounts):
    held = staged(desk, prefix="H", uploaded_days_ago=OLD)
    other = staged(desk, prefix="O", uploaded_days_ago=OLD)
    legal_hold_place(actor=clerk, scope=LegalHold.Scope.RECORD, record_type=TYPE, record_id=str(held.pk),
                     reason="subpoena")
    # The rows name ACC-001, but account holds keep the trades, not the files (records.retention.rules).
    legal_hold_place(actor=clerk, scope=LegalHold.Scope.ACCOUNT, account=accounts["ACC-001"], reason="matter 7")

    assert purge(TYPE).purged == 1
    assert list(TradeFile.objects.values_list("pk", flat=True)) == [held.pk]
    assert rows_of(held) == 3 and not TradeFileRow.objects.filter(file_id=other.pk).exists()


def test_a_dry_run_counts_the_files_and_deletes_nothing(desk):
    old = [staged(desk, prefix=f"D{n}", uploaded_days_ago=OLD) for n in range(2)]
    staged(desk, prefix="Y", uploaded_days_ago=YOUNG)
    result = purge(TYPE, dry_run=True)
    assert (result.purged, result.chunks, result.deleted) == (2, 0, {})
    assert TradeFile.objects.count() == 3 and rows_of(*old) == 6 and tombstones() == []


def test_the_tombstone_records_the_files_and_rows_that_went_and_a_rerun_purges_nothing_more(desk):
    old = [staged(desk, rows=n + 1, prefix=f"T{n}", uploaded_days_ago=OLD) for n in range(3)]
    first = purge(TYPE)
    [tombstone] = tombstones(TYPE)
    content = tombstone.after
    assert tombstone_verify(tombstone)
    assert tombstone_ids(tombstone) == [f.pk for f in old] and first.tombstone_ids == [tombstone.pk]
    assert (content["count"], content["deleted"]) == (3, {"records.tradefilerow": 6, TYPE: 3})
    assert content["policy"]["retention_years"] == 3 and tombstone.actor_label == "job:test"

    second = purge(TYPE)
    assert (second.purged, second.chunks, second.deleted) == (0, 0, {})
    assert len(tombstones(TYPE)) == 1


def test_a_chunk_holds_at_most_rows_per_chunk_staged_rows_and_a_bigger_file_is_a_chunk_of_its_own(desk, monkeypatch):
    sizes = (3, 2, 9, 1)
    old = [staged(desk, rows=n, prefix=f"C{i}", uploaded_days_ago=OLD) for i, n in enumerate(sizes)]
    monkeypatch.setitem(rules.PURGE_REGISTRY, TYPE, dataclasses.replace(rules.PURGE_REGISTRY[TYPE], rows_per_chunk=5))

    result = purge(TYPE)

    chunks = [tombstone_ids(t) for t in tombstones(TYPE)]
    assert chunks == [[old[0].pk, old[1].pk], [old[2].pk], [old[3].pk]]
    assert [t.after["deleted"]["records.tradefilerow"] for t in tombstones(TYPE)] == [5, 9, 1]
    assert (result.purged, result.chunks, TradeFile.objects.count(), TradeFileRow.objects.count()) == (4, 3, 0, 0)


def test_the_purge_takes_as_many_queries_for_a_file_of_400_rows_as_for_one_of_4(desk):
    def queries_to_purge(rows: int, prefix: str) -> list[str]:
        staged(desk, rows=rows, prefix=prefix, uploaded_days_ago=OLD)
        with CaptureQueriesContext(connection) as captured:
            assert purge(TYPE).deleted["records.tradefilerow"] == rows
        return [q["sql"] for q in captured.captured_queries]

    queries_to_purge(4, "W")  # warms what the first purge of a test loads once
    small = queries_to_purge(4, "S")
    large = queries_to_purge(400, "L")
    assert len(large) == len(small)
    row_deletes = [sql for sql in large if sql.startswith('DELETE FROM "records_tradefilerow"')]
    assert row_deletes and all('"file_id" IN' in sql for sql in row_deletes)


# A purged file answers as a file that never was --------------------------------------------------

def test_a_purged_file_is_a_clear_404_on_the_api_and_the_page(desk, client):
    file = staged(desk, prefix="G", uploaded_days_ago=OLD)
    purge(TYPE)
    api = client_for(desk)
    for url in (f"/api/v1/trades/files/{file.pk}/", f"/api/v1/trades/files/{file.pk}/report/",
                f"/api/v1/trades/files/{file.pk}/report/?format=ndjson"):
        response = api.get(url)
        assert (response.status_code, response.json()) == (404, {"detail": MISSING.format(file_id=file.pk)})
    client.force_login(make_user("ops", "operations"))
    assert client.get(f"/records/trades/files/{file.pk}/report.csv").status_code == 404
    page = client.get(f"/records/trades/files/?file={file.pk}")
    assert page.status_code == 200 and MISSING.format(file_id=file.pk) in page.content.decode()


def test_the_failed_job_of_a_purged_file_can_neither_be_rerun_nor_book_when_resumed(desk):
    file = staged(desk, prefix="J", uploaded_days_ago=OLD, status="FAILED")
    purge(TYPE)
    with pytest.raises(BusinessRuleError, match="Give the id of an uploaded trade file"):
        job_rerun(job_id=file.job_id, started_by=desk)
    job_resume(job_id=file.job_id, started_by=desk)
    job = job_run_execute(job_id=file.job_id)
    assert job.status == JobRun.Status.FAILED
    assert job.error == f"BusinessRuleError: Trade file {file.pk} is gone (purged after its retention period): " \
                        "nothing to book."
