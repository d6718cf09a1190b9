# ruff: noqa: F811 - the fixtures imported from helpers_netting are parameters of the tests
"""The beat's netting task (clearing.netting_run) and manage.py clearing_run: the same service as the API."""

from datetime import date
from io import StringIO

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.core.management import CommandError, call_command

from backoffice.core.jobs.models import JobRun
from clearing.models import ClearingRun, Obligation
from clearing.netting import tasks
from clearing.netting.tasks import netting_run_task
from tests.clearing.helpers_netting import SETTLES, firm, netting_alone  # noqa: F401

pytestmark = pytest.mark.django_db


def test_the_beat_nets_the_next_settlement_date_at_the_cutoff_on_weekdays():
    entry = settings.CELERY_BEAT_SCHEDULE["clearing-netting"]
    assert entry["task"] == "clearing.netting_run" == netting_run_task.name
    assert entry["schedule"] == crontab(hour=18, minute=30, day_of_week="mon-fri")
    assert settings.CLEARING_CUTOFF == "18:30"


def test_the_task_nets_the_settlement_date_after_today_as_a_job_keyed_by_the_task(firm, monkeypatch):
    firm.book(("ACC-001", "BRKR-B", "AAPL", "BUY", "10", "100"))
    monkeypatch.setattr(tasks.timezone, "localdate", lambda: date(2026, 11, 20))  # a Friday: Monday is next

    job_id = netting_run_task.apply(task_id="beat-1").get()

    run = ClearingRun.objects.select_related("job").get()
    assert (run.settlement_date, run.job_id, run.job.status, run.job.started_by_label, run.job.task_id) == (
        SETTLES, job_id, "COMPLETED", "beat", "beat-1")
    assert Obligation.objects.get().net_quantity == 10

    # The same message delivered again: the run it created, nothing new.
    assert netting_run_task.apply(task_id="beat-1").get() == job_id
    assert ClearingRun.objects.count() == 1 and JobRun.objects.count() == 1


def test_the_task_takes_a_date_and_leaves_a_queued_run_of_it_alone(firm):
    netting_run_task.apply(kwargs={"settlement_date": "2026-11-24"}, task_id="beat-2").get()
    queued = ClearingRun.objects.get()
    JobRun.objects.filter(pk=queued.job_id).update(status=JobRun.Status.QUEUED)
    assert netting_run_task.apply(kwargs={"settlement_date": "2026-11-24"}, task_id="beat-3").get() is None
    assert ClearingRun.objects.count() == 1


def test_the_command_runs_a_date_now_and_prints_its_figures(firm):
    firm.book(("ACC-001", "BRKR-B", "AAPL", "BUY", "10", "100"), ("HOUSE", "NSCC", "MSFT", "SELL", "1", "400"))
    out = StringIO()
    call_command("clearing_run", "--date", "2026-11-23", "--now", stdout=out)
    run = ClearingRun.objects.get()
    assert out.getvalue().splitlines() == [
        f"clearing run {run.pk} for 2026-11-23: job {run.job_id} COMPLETED", "2 trades netted into 2 obligations"]
    assert run.job.started_by_label == "command:clearing_run"


def test_the_command_queues_a_run_by_default(firm):
    out = StringIO()
    call_command("clearing_run", "--date", "2026-11-23", stdout=out)
    run = ClearingRun.objects.get()
    assert out.getvalue().strip() == f"clearing run {run.pk} for 2026-11-23: job {run.job_id} QUEUED"


@pytest.mark.parametrize("day, message", [
    ("2026-11-21", "2026-11-21 is not a settlement day of any market."),
    ("21/11/2026", "--date: Date has wrong format. Use one of these formats instead: YYYY-MM-DD."),
])
def test_the_command_refuses_a_bad_date(firm, day, message):
    with pytest.raises(CommandError) as refused:
        call_command("clearing_run", "--date", day, stdout=StringIO())
    assert str(refused.value) == message
    assert not ClearingRun.objects.exists()
