# ruff: noqa: F811 - the fixtures imported from the helpers are parameters of the tests
"""The end-of-day demo: every past settlement date from the first trade's on, oldest first, once."""

from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command

from backoffice.core.jobs.models import JobRun
from backoffice.eod import demo
from tests.backoffice.helpers_eod import book_a_day
from tests.clearing.helpers_netting import firm  # noqa: F401

pytestmark = pytest.mark.django_db


def test_the_demo_runs_each_past_settlement_date_once_oldest_first(firm):
    book_a_day(firm)  # settles 2026-11-23 (Monday)

    ran = demo.load_eod_demo(today=date(2026, 11, 25))

    assert [(day.isoformat(), job.status) for day, job in ran] == [("2026-11-23", "COMPLETED"),
                                                                   ("2026-11-24", "COMPLETED")]
    assert JobRun.objects.get(pk=ran[0][1].pk).started_by_label == demo.DEMO_ACTOR
    assert JobRun.objects.filter(kind="settlement-run", status="COMPLETED").count() == 2
    assert demo.load_eod_demo(today=date(2026, 11, 25)) == []


def test_the_command_prints_a_line_per_date(firm):
    book_a_day(firm)
    out = StringIO()
    call_command("load_eod_demo", stdout=out)
    text = out.getvalue()
    assert "  2026-11-23: eod job " in text and "COMPLETED" in text and "End-of-day demo ready" in text
    again = StringIO()
    call_command("load_eod_demo", stdout=again)
    assert again.getvalue().startswith("End-of-day demo ready")


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
