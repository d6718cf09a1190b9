"""The surveillance's beat entry and task, and manage.py run_surveillance."""

from datetime import date
from io import StringIO

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.core.management import CommandError, call_command

from backoffice.core.jobs.models import JobRun
from compliance.surveillance import tasks
from compliance.surveillance.tasks import surveillance_run_task

pytestmark = pytest.mark.django_db


def test_the_beat_surveys_the_day_at_20_00_on_weekdays_after_accountings_end_of_day():
    entry = settings.CELERY_BEAT_SCHEDULE["compliance-surveillance"]
    assert entry["task"] == "compliance.surveillance_run" == surveillance_run_task.name
    assert entry["schedule"] == crontab(hour=20, minute=0, day_of_week="mon-fri")
    assert settings.COMPLIANCE_SURVEILLANCE_AT == "20:00" > settings.ACCOUNTING_EOD_AT


def test_the_task_surveys_today_as_a_job_keyed_by_the_task(monkeypatch):
    monkeypatch.setattr(tasks.timezone, "localdate", lambda: date(2026, 11, 20))
    job_id = surveillance_run_task.apply(task_id="beat-1").get()
    job = JobRun.objects.get(pk=job_id)
    assert (job.kind, job.status, job.parameters, job.started_by_label, job.task_id) == (
        "compliance-surveillance", "COMPLETED", {"trade_date": "2026-11-20"}, "beat", "beat-1")
    assert surveillance_run_task.apply(task_id="beat-1").get() == job_id  # redelivered: the same run
    assert JobRun.objects.count() == 1


def test_the_task_skips_a_weekend_and_a_date_under_way(monkeypatch):
    monkeypatch.setattr(tasks.timezone, "localdate", lambda: date(2026, 11, 21))
    assert surveillance_run_task.apply(task_id="beat-2").get() is None
    queued = JobRun.objects.create(kind="compliance-surveillance", parameters={"trade_date": "2026-11-20"})
    assert surveillance_run_task.apply(kwargs={"trade_date": "2026-11-20"}, task_id="beat-3").get() is None
    assert list(JobRun.objects.values_list("pk", flat=True)) == [queued.pk]


def test_the_command_runs_the_date_now_and_prints_each_scenario():
    out = StringIO()
    call_command("run_surveillance", "--date", "2026-11-20", stdout=out)
    text = out.getvalue()
    for name in ("wash-trades", "large-trades", "structuring", "marking-close", "fail-close-out"):
        assert name in text
    assert "completed" in text
    assert JobRun.objects.get().started_by_label == "command:run_surveillance"


def test_the_command_refuses_a_bad_date():
    with pytest.raises(CommandError, match="not a trading day"):
        call_command("run_surveillance", "--date", "2026-11-22", stdout=StringIO())
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("run_surveillance", "--date", "22/11/2026", stdout=StringIO())
    assert not JobRun.objects.exists()
