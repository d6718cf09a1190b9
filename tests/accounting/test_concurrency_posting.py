# ruff: noqa: F811 - the fixtures imported from the helpers are parameters of the tests
"""Posting on several connections at once, and a posting run killed midway: the ledger ends as one
uninterrupted run leaves it, every source event posted exactly once."""

from unittest import mock

import pytest
from django.db import transaction

from accounting.models import CostLot, JournalEntry, JournalLine, PostingState
from accounting.posting import services as posting
from accounting.posting import writer
from backoffice.core.jobs.models import JobChunk, JobRun
from backoffice.core.jobs.services import job_create, job_rerun, job_run_execute
from tests.accounting.helpers_posting import assert_balanced, books, firm  # noqa: F401
from tests.settlements.helpers_settlement import fund, hold
from tests.threads import in_thread

pytestmark = pytest.mark.django_db(transaction=True)


class _Rollback(Exception):
    pass


def ledger() -> dict:
    """The ledger without the ids a sequence hands out: to compare two ways of getting there."""
    entries = {e.pk: (e.source_type, e.source_id, e.source_version, e.rule, e.generation, e.currency, e.entry_date)
               for e in JournalEntry.objects.all()}
    lines = sorted((entries[entry_id], gl, amount, base, quantity) for entry_id, gl, amount, base, quantity in
                   JournalLine.objects.values_list("entry_id", "gl_account_id", "amount", "base_amount", "quantity"))
    return {"entries": sorted(entries.values()), "lines": lines,
            "lots": sorted(CostLot.objects.values_list("account_id", "instrument_id", "quantity", "cost")),
            "states": sorted(PostingState.objects.values_list("source_type", "source_id", "version", "generation"))}


def _trading_day(books):
    fund(books, "ACC-001", "100000")
    fund(books, "HOUSE", "5000", "EUR")
    hold(books, "HOUSE", "SAP", "50")
    books.book(("ACC-001", "BRKR-B", "AAPL", "BUY", "10", "100"), ("ACC-001", "BRKR-B", "AAPL", "SELL", "4", "110"),
               ("HOUSE", "BRKR-B", "MSFT", "SELL", "5", "400"), ("HOUSE", "BRKR-B", "SAP", "SELL", "20", "210"),
               ("HOUSE", "BRKR-B", "MSFT", "BUY", "7", "390"))


def _one_run_alone() -> dict:
    try:
        with transaction.atomic():
            job = job_create(kind=posting.POSTING, params={"account_bounds": []}, started_by="test")
            job_run_execute(job_id=job.pk)
            alone = ledger()
            raise _Rollback
    except _Rollback:
        pass
    return alone


def test_two_posting_runs_at_once_post_each_event_once(books):
    _trading_day(books)
    alone = _one_run_alone()
    assert len(alone["entries"]) == 8
    with transaction.atomic():
        jobs = [job_create(kind=posting.POSTING, params={}, started_by="test") for _ in range(2)]
    outcome = {}
    threads = [in_thread(lambda job=job: job_run_execute(job_id=job.pk).status, outcome, f"run-{job.pk}")
               for job in jobs]
    for thread in threads:
        thread.join(30)
    assert sorted(outcome.values()) == ["COMPLETED", "COMPLETED"], outcome
    assert ledger() == alone
    assert_balanced()


def test_a_run_that_fails_midway_and_is_rerun_ends_as_an_uninterrupted_run(books):
    _trading_day(books)
    alone = _one_run_alone()
    accounts = sorted(a.pk for a in books.accounts.values())
    real_write, calls = writer.entries_write, []

    def fail_in_the_second_chunk(drafts, **kwargs):
        calls.append(len(drafts))
        if len(calls) == 3:  # the second chunk's lot events: after the first chunk committed
            raise RuntimeError("worker lost")
        return real_write(drafts, **kwargs)

    with transaction.atomic():
        job = job_create(kind=posting.POSTING, params={"account_bounds": [accounts[1]]}, started_by="test")
    with mock.patch("accounting.posting.trades.entries_write", fail_in_the_second_chunk), \
            mock.patch("accounting.posting.services.entries_write", fail_in_the_second_chunk):
        failed = job_run_execute(job_id=job.pk)
    assert failed.status == JobRun.Status.FAILED and "worker lost" in failed.error
    assert JobChunk.objects.filter(job=job).count() == 1
    assert 0 < JournalEntry.objects.count() < len(alone["entries"])
    with transaction.atomic():
        again = job_rerun(job_id=job.pk, started_by="test")
    assert job_run_execute(job_id=again.pk).status == JobRun.Status.COMPLETED
    assert ledger() == alone
