# ruff: noqa: F811 - the fixtures imported from helpers_settlement are parameters of the tests
"""The beat's settlement task (settlements.settlement_run) and manage.py settlement_run: the same service as the API."""

from datetime import date
from io import StringIO

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.core.management import CommandError, call_command

from backoffice.core.jobs.models import JobRun
from settlements.models import SettlementInstruction, SettlementRun
from settlements.runs import tasks
from settlements.runs.tasks import settlement_run_task
from tests.settlements.helpers_settlement import (  # noqa: F401
    SETTLES,
    book_and_instruct,
    firm,
    funded,
    own_steps_only,
)

pytestmark = pytest.mark.django_db


def test_the_beat_settles_today_at_the_cutoff_on_weekdays():
    entry = settings.CELERY_BEAT_SCHEDULE["settlement-run"]
    assert entry["task"] == "settlements.settlement_run" == settlement_run_task.name
    assert entry["schedule"] == crontab(hour=15, minute=30, day_of_week="mon-fri")
    assert settings.SETTLEMENT_CUTOFF == "15:30"


def test_the_task_settles_today_as_a_job_keyed_by_the_task(funded, monkeypatch):
    receipt, = book_and_instruct(funded, ("ACC-001", "BRKR-B", "AAPL", "BUY", "10", "100"))
    monkeypatch.setattr(tasks.timezone, "localdate", lambda: SETTLES)

    job_id = settlement_run_task.apply(task_id="beat-1").get()

    run = SettlementRun.objects.select_related("job").get()
    assert (run.settlement_date, run.job_id, run.job.status, run.job.started_by_label, run.job.task_id) == (
        SETTLES, job_id, "COMPLETED", "beat", "beat-1")
    assert SettlementInstruction.objects.get(pk=receipt.pk).status == "SETTLED"

    # The same message delivered again: the run it created, nothing new.
    assert settlement_run_task.apply(task_id="beat-1").get() == job_id
    assert SettlementRun.objects.count() == 1 and JobRun.objects.filter(kind="settlement-run").count() == 1


def test_the_task_skips_a_day_no_market_settles_and_leaves_a_queued_run_alone(firm, monkeypatch):
    monkeypatch.setattr(tasks.timezone, "localdate", lambda: date(2026, 11, 21))  # a Saturday
    assert settlement_run_task.apply(task_id="beat-2").get() is None
    assert not SettlementRun.objects.exists()

    settlement_run_task.apply(kwargs={"settlement_date": "2026-11-24"}, task_id="beat-3").get()
    queued = SettlementRun.objects.get()
    JobRun.objects.filter(pk=queued.job_id).update(status=JobRun.Status.QUEUED)
    assert settlement_run_task.apply(kwargs={"settlement_date": "2026-11-24"}, task_id="beat-4").get() is None
    assert SettlementRun.objects.count() == 1


def test_the_command_runs_a_date_now_and_prints_its_counts(funded):
    book_and_instruct(funded, ("ACC-001", "BRKR-B", "AAPL", "BUY", "10", "100"),
                      ("HOUSE", "BRKR-B", "MSFT", "SELL", "5000", "4"), allow_partial=False)
    out = StringIO()
    call_command("settlement_run", "--date", "2026-11-23", "--now", stdout=out)
    run = SettlementRun.objects.get()
    assert out.getvalue().splitlines() == [
        f"settlement run {run.pk} for 2026-11-23: job {run.job_id} COMPLETED",
        "1 settled, 0 partially settled, 1 failed"]
    assert run.job.started_by_label == "command:settlement_run"


def test_the_command_queues_by_default(firm, django_capture_on_commit_callbacks):
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=False) as queued:
        call_command("settlement_run", "--date", "2026-11-23", stdout=out)
    run = SettlementRun.objects.get()
    assert out.getvalue().strip() == f"settlement run {run.pk} for 2026-11-23: job {run.job_id} QUEUED"
    assert len(queued) == 1


@pytest.mark.parametrize("argument, message", [
    ("2026-11-21", "2026-11-21 is not a settlement day of any market."),
    ("23/11/2026", "--date: "),
    ("2026-02-30", "--date: "),
])
def test_the_command_refuses_bad_dates_and_starts_nothing(firm, argument, message):
    with pytest.raises(CommandError, match=message.replace(".", r"\.")):
        call_command("settlement_run", "--date", argument, "--now", stdout=StringIO())
    assert not SettlementRun.objects.exists()
