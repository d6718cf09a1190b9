"""The trade-file job shared by two workers: the chunks of a file still run in line order, each row booked once."""

import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from backoffice.core.jobs import services as jobs
from backoffice.core.jobs.models import JobRun
from backoffice.core.jobs.services import job_run_execute
from records.trades.files import services
from records.trades.files.models import TradeFile, TradeFileRow
from records.trades.models import Trade
from tests.conftest import client_for, make_user
from tests.records.helpers_trades import assert_positions_equal_sum_of_trades
from tests.records.test_api_trade_files import csv_text, row
from tests.threads import in_thread


@pytest.mark.django_db(transaction=True)
def test_two_workers_on_one_file_book_it_as_one_worker_would(instruments, accounts, counterparties, monkeypatch):
    monkeypatch.setattr(services, "CHUNK_ROWS", 5)
    monkeypatch.setattr(jobs, "job_enqueue", lambda job_id, **kwargs: None)  # the workers below run them
    # Refs repeat across chunks with other content: which row books depends on line order.
    rows = [row(f"W-{n % 9}", quantity=str(n + 1)) for n in range(40)]
    content = csv_text(rows).encode()
    ids = {}
    for name in ("one", "two"):
        client = client_for(make_user(f"desk-{name}", "front_office"))
        answer = client.post("/api/v1/trades/files/", {"file": SimpleUploadedFile("w.csv", content, "text/csv")},
                             format="multipart")
        assert answer.status_code == 202, answer.content
        ids[name] = answer.json()["id"]

    assert job_run_execute(job_id=ids["one"]).status == JobRun.Status.COMPLETED
    real = services.booking_sql.book_chunk

    def slow(**kwargs):  # a chunk long enough for the other worker to reach the next one meanwhile
        time.sleep(0.2)
        return real(**kwargs)

    monkeypatch.setattr(services.booking_sql, "book_chunk", slow)
    outcome: dict = {}
    threads = [in_thread(lambda: job_run_execute(job_id=ids["two"]), outcome, f"worker-{n}") for n in range(2)]
    for thread in threads:
        thread.join(60)
    assert all(isinstance(outcome[f"worker-{n}"], JobRun) for n in range(2)), outcome
    assert JobRun.objects.get(pk=ids["two"]).status == JobRun.Status.COMPLETED

    def outcomes(username):
        file = TradeFile.objects.get(uploaded_by__username=username)
        return list(TradeFileRow.objects.filter(file=file).order_by("seq").values_list("line", "outcome", "errors"))

    assert outcomes("desk-two") == outcomes("desk-one")
    assert [o for _, o, _ in outcomes("desk-one")][:10] == ["created"] * 9 + ["rejected"]
    for username in ("desk-one", "desk-two"):
        booked = Trade.objects.filter(submitted_by__username=username)
        assert sorted(booked.values_list("external_ref", "quantity")) == [(f"W-{n}", n + 1) for n in range(9)]
    assert_positions_equal_sum_of_trades()
