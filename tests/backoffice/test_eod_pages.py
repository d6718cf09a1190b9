# ruff: noqa: F811 - the fixtures imported from the helpers are parameters of the tests
"""The End of day pages: the history per date, a run's stages (status, job, progress, rows, error), the start form,
and "Rerun failed stage" through a confirmation step; sign-in and the operations role."""

import pytest
from django.test import Client

from backoffice.core.jobs.models import JobRun
from backoffice.eod import services
from records.audit.models import AuditRecord
from settlements.fails import jobs as fail_jobs
from tests.backoffice.helpers_eod import book_a_day, run_eod
from tests.clearing.helpers_netting import SATURDAY, SETTLES, firm  # noqa: F401
from tests.conftest import make_user
from tests.pages import nav_links, table_rows

pytestmark = pytest.mark.django_db


@pytest.fixture
def failed(firm, monkeypatch):
    book_a_day(firm)
    monkeypatch.setattr(fail_jobs, "_run_accrue", lambda job, index: 1 / 0)
    job = run_eod()
    monkeypatch.undo()
    return job


def test_the_page_needs_a_sign_in_and_a_reading_role(client):
    assert client.get("/eod/").status_code == 302
    client.force_login(make_user("trader", "front_office"))
    assert client.get("/eod/").status_code == 403
    assert client.post("/eod/start/", {"settlement_date": "2026-11-23"}).status_code == 403
    assert not JobRun.objects.exists()
    client.force_login(make_user("officer", "compliance"))
    response = client.get("/eod/")
    assert response.status_code == 200 and b"Run end of day" not in response.content


def test_the_history_lists_runs_newest_first_with_date_status_stage_and_error(signed_in, failed):
    again = services.eod_run_create(settlement_date=SETTLES, started_by="test")
    rows = table_rows(signed_in.get("/eod/"), "eod-runs")
    assert [row[0] for row in rows] == [f"{again.pk} ↻ {failed.pk}", str(failed.pk)]
    newest, oldest = rows
    assert (newest[1], newest[2], newest[5]) == ("2026-11-23", "Queued", "test")
    assert (oldest[2], oldest[4]) == ("Failed", "Settlement")
    assert oldest[3].startswith("28%") and "2/7 stages" in oldest[3]
    assert oldest[9].startswith("EodStageFailed: Settlement failed")
    assert table_rows(signed_in.get("/eod/?settlement_date=2026-11-24"), "eod-runs") == []
    assert ("End of day", "/eod/", True) in nav_links(signed_in.get("/eod/"))


def test_a_run_shows_its_stages_as_a_dense_table(signed_in, failed):
    response = signed_in.get(f"/eod/{failed.pk}/")
    rows = table_rows(response, "eod-stages")
    assert [(row[1], row[3]) for row in rows] == [
        ("Matching clearing-match", "Completed"), ("Netting and instructions clearing-netting", "Completed"),
        ("Settlement settlement-run", "Failed"), ("Posting accounting-posting", "Not started"),
        ("Mark to market and FX revaluation accounting-mark-to-market", "Not started"),
        ("Reconciliation accounting-reconciliation", "Not started"),
        ("Surveillance compliance-surveillance", "Not started")]
    netting, settlement = rows[1], rows[2]
    assert netting[2] == str(JobRun.objects.get(kind="clearing-netting").pk)
    assert netting[4].startswith("100%") and netting[7] == "8"
    assert settlement[4].startswith("66%") and "2/3 chunks" in settlement[4]
    assert settlement[8] == "ZeroDivisionError: division by zero"
    page = response.content.decode()
    assert "The run stopped at settlement:" in page and 'id="rerun-failed-stage"' in page


def test_rerun_failed_stage_asks_first_then_resumes_it_audited(signed_in, failed, operator,
                                                               django_capture_on_commit_callbacks):
    confirm = signed_in.get(f"/eod/{failed.pk}/rerun/")
    assert confirm.status_code == 200
    text = confirm.content.decode()
    settlement = JobRun.objects.get(kind="settlement-run")
    assert f"resumes its job {settlement.pk}, keeping the 2 of 3 chunks it committed" in text
    assert "done, not run again: Matching, Netting and instructions;" in text
    assert not JobRun.objects.filter(rerun_of=failed).exists()  # asking changed nothing

    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in.post(f"/eod/{failed.pk}/rerun/")

    rerun = JobRun.objects.get(rerun_of=failed)
    assert response.status_code == 302 and response.url == f"/eod/{rerun.pk}/"
    rerun.refresh_from_db()
    assert rerun.status == "COMPLETED", rerun.error
    assert AuditRecord.objects.filter(record_type="core.jobrun", record_id=str(rerun.pk), action="CREATE",
                                      actor_label=operator.username).exists()
    rows = table_rows(signed_in.get(f"/eod/{rerun.pk}/"), "eod-stages")
    assert {row[3] for row in rows} == {"Completed"}
    assert rows[2][2] == f"{settlement.pk} ↻ {failed.pk}"  # the failed run's job, resumed
    again = signed_in.post(f"/eod/{failed.pk}/rerun/", follow=True)
    assert f"Run {failed.pk} was already rerun as run {rerun.pk}" in again.content.decode()
    assert JobRun.objects.filter(kind="eod").count() == 2


def test_the_start_form_starts_the_date_and_shows_errors_on_the_field(signed_in,
                                                                      django_capture_on_commit_callbacks):
    response = signed_in.post("/eod/start/", {"settlement_date": SATURDAY.isoformat()})
    assert response.status_code == 400
    assert "2026-11-21 is not a settlement day of any market." in response.content.decode()
    assert not JobRun.objects.exists()

    with django_capture_on_commit_callbacks() as queued:
        response = signed_in.post("/eod/start/", {"settlement_date": "2026-11-23"})
    job = JobRun.objects.get(kind="eod")
    assert response.status_code == 302 and response.url == f"/eod/{job.pk}/" and len(queued) == 1
    conflict = signed_in.post("/eod/start/", {"settlement_date": "2026-11-23"}, follow=True)
    assert "already queued" in conflict.content.decode()
    assert JobRun.objects.filter(kind="eod").count() == 1


def test_an_unknown_run_is_a_404(signed_in):
    assert signed_in.get("/eod/424242/").status_code == 404
    assert signed_in.get("/eod/424242/rerun/").status_code == 404
    accounting = Client()
    accounting.force_login(make_user("ledger", "accounting"))
    assert accounting.get("/eod/424242/rerun/").status_code == 403


def test_the_jobs_page_links_an_eod_run_and_its_stages_jobs_to_its_page(signed_in, failed):
    rows = {row[0]: row for row in table_rows(signed_in.get("/jobs/"), "jobs")}
    assert str(failed.pk) in rows
    netting = JobRun.objects.get(kind="clearing-netting")
    assert f"{netting.pk} ⤴ {failed.pk}" in rows
    page = signed_in.get("/jobs/").content.decode()
    assert f'href="/eod/{failed.pk}/" title="Its stages"' in page
    assert f'href="/eod/{failed.pk}/" title="A stage of end-of-day run {failed.pk}"' in page


def test_the_jobs_page_reruns_an_eod_run_as_the_eod_page_does(signed_in, failed, django_capture_on_commit_callbacks):
    """Rerun on /jobs/ of a failed EOD run: refused while another run of its date is under way, else a rerun that
    resumes the failed stage (not a fresh run of every stage), and refused once it has been rerun."""
    busy = services.eod_run_create(settlement_date=SETTLES, started_by="test")  # continues the failed run's stage
    refused = signed_in.post(f"/jobs/{failed.pk}/rerun/", follow=True).content.decode()
    assert (f"The end of day of {SETTLES.isoformat()} is already queued (run {busy.pk}): wait for it to finish."
            in refused)
    assert not JobRun.objects.filter(rerun_of=failed).exclude(pk=busy.pk).exists()
    JobRun.objects.filter(pk=busy.pk).delete()

    with django_capture_on_commit_callbacks(execute=True):
        signed_in.post(f"/jobs/{failed.pk}/rerun/")
    rerun = JobRun.objects.get(rerun_of=failed)
    rerun.refresh_from_db()
    assert rerun.status == "COMPLETED", rerun.error
    assert JobRun.objects.filter(kind="settlement-run").count() == 1  # the failed stage's job resumed, not a new one
    again = signed_in.post(f"/jobs/{failed.pk}/rerun/", follow=True).content.decode()
    assert f"Run {failed.pk} was already rerun as run {rerun.pk}" in again
