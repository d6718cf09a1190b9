# ruff: noqa: F811 - the fixtures imported from the helpers are parameters of the tests
"""POST /api/v1/eod/runs/ (202 with the job; 400, 409), GET the history and a run's stages, the rerun, the roles;
manage.py run_eod and the beat's task."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from backoffice.core.jobs.models import JobRun
from backoffice.eod import services
from backoffice.eod.tasks import eod_run_task
from records.audit.models import AuditRecord
from settlements.fails import jobs as fail_jobs
from tests.backoffice.helpers_eod import STAGE_KINDS, book_a_day, run_eod
from tests.clearing.helpers_netting import SATURDAY, SETTLES, firm  # noqa: F401

pytestmark = pytest.mark.django_db

URL = "/api/v1/eod/runs/"


def test_posting_a_date_answers_202_with_the_job_as_the_jobs_api_shows_it(ops_client, operations_user,
                                                                           django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as queued:
        response = ops_client.post(URL, {"settlement_date": "2026-11-23"}, format="json")

    assert response.status_code == 202, response.content
    body = response.json()
    job = JobRun.objects.get()
    assert (body["id"], body["kind"], body["status"], body["settlement_date"]) == (job.pk, "eod", "QUEUED",
                                                                                    "2026-11-23")
    assert body["parameters"] == {"settlement_date": "2026-11-23"} and body["started_by"] == "ops"
    same = ops_client.get(f"/api/v1/jobs/{job.pk}/").json()
    assert {key: body[key] for key in same} == same
    assert len(queued) == 1  # queued to the workers once the request commits
    audit = AuditRecord.objects.get(record_type="core.jobrun", record_id=str(job.pk))
    assert (audit.action, audit.actor_label, audit.reason) == ("CREATE", "ops", "end of day of 2026-11-23")


@pytest.mark.parametrize(("body", "message"), [
    ({}, "This field is required."),
    ({"settlement_date": "2026-02-30"}, "Date has wrong format. Use one of these formats instead: YYYY-MM-DD."),
    ({"settlement_date": "23/11/2026"}, "Date has wrong format. Use one of these formats instead: YYYY-MM-DD."),
    ({"settlement_date": SATURDAY.isoformat()}, "2026-11-21 is not a settlement day of any market."),
    ({"settlement_date": "2099-01-02"}, "2099-01-02 is in the future: its end of day cannot run yet."),
])
def test_a_bad_date_is_a_400_on_the_field_and_starts_nothing(ops_client, body, message):
    response = ops_client.post(URL, body, format="json")
    assert response.status_code == 400, response.content
    assert response.json() == {"settlement_date": [message]}
    assert not JobRun.objects.exists()


def test_a_date_whose_run_is_queued_or_running_is_a_409(ops_client):
    first = services.eod_run_create(settlement_date=SETTLES, started_by="test")
    response = ops_client.post(URL, {"settlement_date": "2026-11-23"}, format="json")
    assert response.status_code == 409
    assert response.json() == {"detail": f"The end of day of 2026-11-23 is already queued (run {first.pk}): "
                                         "wait for it to finish."}
    JobRun.objects.filter(pk=first.pk).update(status="RUNNING")
    assert ops_client.post(URL, {"settlement_date": "2026-11-23"}, format="json").status_code == 409
    assert JobRun.objects.count() == 1


def test_the_roles(fo_client, anon_client, compliance_client, accounting_client, admin_client_api):
    job = services.eod_run_create(settlement_date=SETTLES, started_by="test")
    for client in (fo_client, anon_client):
        expected = 403 if client is fo_client else 401
        assert client.post(URL, {"settlement_date": "2026-11-24"}, format="json").status_code == expected
        assert client.get(URL).status_code == expected
        assert client.get(f"{URL}{job.pk}/").status_code == expected
    for client in (compliance_client, accounting_client):
        assert client.get(f"{URL}{job.pk}/").status_code == 200
        assert client.post(URL, {"settlement_date": "2026-11-24"}, format="json").status_code == 403
    assert admin_client_api.post(URL, {"settlement_date": "2026-11-24"}, format="json").status_code == 202
    assert JobRun.objects.count() == 2


def test_the_history_is_newest_first_and_filtered_by_date(ops_client):
    older = services.eod_run_create(settlement_date="2026-11-23", started_by="test")
    JobRun.objects.filter(pk=older.pk).update(status="COMPLETED")
    again = services.eod_run_create(settlement_date="2026-11-23", started_by="test")
    other = services.eod_run_create(settlement_date="2026-11-24", started_by="test")
    body = ops_client.get(URL).json()
    assert [row["id"] for row in body["results"]] == [other.pk, again.pk, older.pk]
    dated = ops_client.get(URL + "?settlement_date=2026-11-23").json()
    assert [row["id"] for row in dated["results"]] == [again.pk, older.pk]
    assert ops_client.get(URL + "?settlement_date=2026-13-01").status_code == 400
    assert ops_client.get(f"{URL}999999/").status_code == 404


def test_a_run_shows_its_stages_with_child_job_status_progress_rows_duration_and_error(ops_client, firm,
                                                                                      monkeypatch):
    book_a_day(firm)
    monkeypatch.setattr(fail_jobs, "_run_accrue", lambda job, index: 1 / 0)
    failed = run_eod()

    body = ops_client.get(f"{URL}{failed.pk}/").json()

    assert body["status"] == "FAILED" and body["error"].startswith("EodStageFailed: Settlement failed")
    stages = body["stages"]
    assert [(s["name"], s["kind"], s["status"]) for s in stages] == [
        ("matching", "clearing-match", "COMPLETED"), ("netting", "clearing-netting", "COMPLETED"),
        ("settlement", "settlement-run", "FAILED"), ("posting", "accounting-posting", "NOT_STARTED"),
        ("mark-to-market", "accounting-mark-to-market", "NOT_STARTED"),
        ("reconciliation", "accounting-reconciliation", "NOT_STARTED"),
        ("surveillance", "compliance-surveillance", "NOT_STARTED")]
    netting, settlement, posting = stages[1], stages[2], stages[3]
    netting_job = JobRun.objects.get(kind="clearing-netting")
    assert (netting["job"], netting["progress"], netting["rows_affected"], netting["error"]) == (
        netting_job.pk, 1.0, netting_job.rows_affected, "")
    assert netting["rows_affected"] == 8 and netting["duration_seconds"] >= 0  # 4 trades netted, 4 instructions
    assert settlement["error"] == "ZeroDivisionError: division by zero"
    assert (settlement["chunks_done"], settlement["chunks_total"]) == (2, 3)
    assert (posting["job"], posting["progress"], posting["duration_seconds"]) == (None, 0.0, None)

    monkeypatch.undo()
    response = ops_client.post(f"{URL}{failed.pk}/rerun/")
    assert response.status_code == 202, response.content
    rerun = JobRun.objects.get(pk=response.json()["id"])
    assert rerun.rerun_of_id == failed.pk and rerun.status == "QUEUED"
    assert ops_client.post(f"{URL}{failed.pk}/rerun/").status_code == 409  # the rerun is queued
    assert ops_client.post(f"{URL}{rerun.pk}/rerun/").status_code == 409  # not failed
    job = JobRun.objects.get(kind="clearing-match")
    assert ops_client.post(f"{URL}{job.pk}/rerun/").status_code == 404  # not an end of day


def test_the_command_runs_the_eod_here_and_prints_each_stage(firm):
    book_a_day(firm)
    out = StringIO()
    call_command("run_eod", "--date", "2026-11-23", "--now", stdout=out)
    text = out.getvalue()
    assert text.startswith("eod job ") and "for 2026-11-23: COMPLETED" in text
    for name in ("matching", "netting", "settlement", "posting", "mark-to-market", "reconciliation", "surveillance"):
        assert f"  {name} " in text
    assert list(JobRun.objects.exclude(kind="eod").order_by("id").values_list("kind", flat=True)) == STAGE_KINDS


def test_the_command_queues_without_now_and_refuses_a_bad_date(db):
    out = StringIO()
    call_command("run_eod", "--date", "2026-11-23", stdout=out)
    assert "for 2026-11-23: QUEUED" in out.getvalue()
    with pytest.raises(CommandError, match="already queued"):
        call_command("run_eod", "--date", "2026-11-23", stdout=StringIO())
    with pytest.raises(CommandError, match="not a settlement day"):
        call_command("run_eod", "--date", SATURDAY.isoformat(), stdout=StringIO())


def test_the_beat_task_runs_a_date_and_skips_a_day_no_market_settles(firm):
    book_a_day(firm)
    job_id = eod_run_task.apply(kwargs={"settlement_date": "2026-11-23"}).get()
    assert JobRun.objects.get(pk=job_id).status == "COMPLETED"
    assert JobRun.objects.get(pk=job_id).started_by_label == "beat"
    assert eod_run_task.apply(kwargs={"settlement_date": SATURDAY.isoformat()}).get() is None
    assert JobRun.objects.filter(kind="eod").count() == 1
