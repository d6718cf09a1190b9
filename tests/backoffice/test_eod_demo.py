# ruff: noqa: F811 - the fixtures imported from the helpers are parameters of the tests
"""The end-of-day demo: every past settlement date from the first trade's on, oldest first, once."""

from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Sum

from backoffice.core.jobs.models import JobRun
from backoffice.eod import demo
from tests.backoffice.helpers_eod import book_a_day
from tests.clearing.helpers_netting import firm  # noqa: F401

pytestmark = pytest.mark.django_db


def test_the_demo_runs_each_past_settlement_date_from_the_first_trade_date_once_oldest_first(firm):
    book_a_day(firm)  # traded 2026-11-20 (Friday), settles 2026-11-23 (Monday)

    ran = demo.load_eod_demo(today=date(2026, 11, 25))

    assert [(day.isoformat(), job.status) for day, job in ran] == [("2026-11-20", "COMPLETED"),
                                                                   ("2026-11-23", "COMPLETED"),
                                                                   ("2026-11-24", "COMPLETED")]
    assert JobRun.objects.get(pk=ran[0][1].pk).started_by_label == demo.DEMO_ACTOR
    assert JobRun.objects.filter(kind="settlement-run", status="COMPLETED").count() == 3
    assert demo.load_eod_demo(today=date(2026, 11, 25)) == []


def test_the_command_prints_a_line_per_date(firm):
    book_a_day(firm)
    out = StringIO()
    call_command("load_eod_demo", stdout=out)
    text = out.getvalue()
    assert "  2026-11-23: eod job " in text and "COMPLETED" in text and "End-of-day demo ready" in text
    again = StringIO()
    call_command("load_eod_demo", stdout=again)
    assert "eod job" not in again.getvalue() and "End-of-day demo ready" in again.getvalue()


def test_without_trades_the_demo_does_nothing(db):
    assert demo.load_eod_demo() == []


def test_the_demo_asks_no_worker_to_join_while_a_run_from_the_api_does(firm, monkeypatch):
    """The demo runs alone before any worker is up: it leaves no task behind (a worker would drain them for
    minutes, each finding its job done, before a clerk's first job); a run started otherwise asks them."""
    from backoffice.eod import services

    asked = []
    monkeypatch.setattr(services, "job_enqueue", lambda job_id, **kwargs: asked.append((job_id, kwargs)))
    book_a_day(firm)
    assert demo.load_eod_demo(today=date(2026, 11, 25))
    assert asked == []
    job = services.eod_run_create(settlement_date=date(2026, 11, 25), started_by="test")
    services.job_run_execute(job_id=job.pk)
    assert asked and all(kwargs["helpers"] for _job, kwargs in asked)


def test_make_runs_demo_chain_leaves_the_batches_to_the_end_of_day(db):
    """make run's chain (backoffice.launcher.demo_commands): the settlement, accounting and compliance demos set up
    only, and each past date's end of day settles, posts, marks and surveys it; then the old months are closed and
    the alert queue worked. Run again, it adds nothing."""
    from accounting.models import JournalEntry
    from backoffice.launcher import demo_commands
    from compliance.alerts.models import Alert
    from settlements.models import SettlementInstruction

    out = StringIO()
    for command in demo_commands("120"):
        call_command(*command, stdout=out)
    text = out.getvalue()
    assert text.count("left to the end of day (load_eod_demo)") == 3
    assert "eod job" in text and "periods closed" in text and "alert queue" in text

    eods = JobRun.objects.filter(kind="eod")
    assert eods.exists() and not eods.exclude(status="COMPLETED").exists()
    done = dict(JobRun.objects.filter(parent__kind="eod").values_list("kind").annotate(rows=Sum("rows_affected")))
    # The end of day did the work: no other run of those kinds exists but its stages'.
    for kind in ("settlement-run", "accounting-posting", "accounting-mark-to-market", "compliance-surveillance"):
        assert done[kind] > 0, kind
        assert not JobRun.objects.filter(kind=kind, parent__isnull=True).exists(), kind
    assert not JobRun.objects.filter(kind="accounting-eod").exists()
    assert SettlementInstruction.objects.filter(status="SETTLED").exists()
    assert JournalEntry.objects.exists() and Alert.objects.exists()

    before = (JobRun.objects.count(), JournalEntry.objects.count(), Alert.objects.count())
    call_command("load_eod_demo", stdout=StringIO())
    assert (JobRun.objects.count(), JournalEntry.objects.count(), Alert.objects.count()) == before
