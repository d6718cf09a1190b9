"""The jobs page: every run with its status, progress, duration, counts and error; polling; rerun of a failed run."""

import re

import pytest
from django.contrib.auth.models import Group

from backoffice.core.jobs import registry
from backoffice.core.jobs.models import JobRun
from backoffice.core.jobs.registry import JobKind, Step
from backoffice.core.jobs.services import job_create, job_run_execute
from backoffice.dashboard.jobs import chunks_text, percent_text
from records.audit.models import AuditRecord
from tests.conftest import make_user
from tests.pages import nav_links, table_rows

pytestmark = pytest.mark.django_db


def _chunk(job, index):
    if index == job.parameters.get("fail_at") and not Group.objects.filter(name="fixed").exists():
        raise ValueError("the ledger is locked")
    return 7


@pytest.fixture
def runs(monkeypatch, operator):
    kind = JobKind("test-rows", "Test rows", lambda parameters: [Step("write", parameters["chunks"], _chunk)])
    monkeypatch.setitem(registry.JOB_KINDS, kind.name, kind)
    done = job_run_execute(job_id=job_create(kind="test-rows", params={"chunks": 3}, started_by=operator).pk)
    failed = job_run_execute(job_id=job_create(kind="test-rows", params={"chunks": 4, "fail_at": 2}).pk)
    queued = job_create(kind="audit-verify", started_by="beat")
    return {"done": done, "failed": failed, "queued": queued}


def test_the_page_lists_every_run_with_status_progress_counts_and_error(signed_in, runs):
    response = signed_in.get("/jobs/")
    rows = table_rows(response, "jobs")
    assert [row[0] for row in rows] == [str(runs[name].pk) for name in ("queued", "failed", "done")]
    queued, failed, done = rows
    assert queued[1:6] == ["Audit chain verification audit-verify", "Queued", "0% waiting for a worker", "beat",
                           runs["queued"].created_at.strftime("%Y-%m-%d %H:%M:%S")]
    assert failed[1:5] == ["Test rows test-rows", "Failed", "50% 2/4 chunks", "system"]
    assert (failed[7], failed[8], failed[9]) == ("14", "ValueError: the ledger is locked", "Rerun")
    assert done[2:5] == ["Completed", "100% 3/3 chunks", "ops-dash"]
    assert done[6].endswith(" s") and done[7] == "21"
    content = response.content.decode()
    assert 'class="pill pill-bad" title="FAILED"' in content and 'class="pill pill-ok" title="COMPLETED"' in content
    assert 'src="/static/js/jobs.js"' in content
    # Only the failed run offers its rerun; the others' forms are hidden until a poll finds them failed.
    assert content.count('class="rerun"') == 3 and content.count("hidden>") == 2
    assert ("Batch jobs", "/jobs/", True) in nav_links(response)


def test_the_page_filters_by_kind_and_status(signed_in, runs):
    assert [row[0] for row in table_rows(signed_in.get("/jobs/?status=FAILED"), "jobs")] == [str(runs["failed"].pk)]
    assert [row[0] for row in table_rows(signed_in.get("/jobs/?kind=audit-verify"), "jobs")] == [
        str(runs["queued"].pk)]


def test_the_progress_endpoint_answers_the_named_runs(signed_in, runs):
    response = signed_in.get(f"/jobs/progress/?ids={runs['failed'].pk},{runs['queued'].pk},x")
    jobs = {job["id"]: job for job in response.json()["jobs"]}
    assert jobs[runs["failed"].pk] == {
        "id": runs["failed"].pk, "status": "FAILED", "status_label": "Failed", "tone": "bad", "progress": 0.5,
        "percent": "50%", "chunks_done": 2, "chunks_total": 4, "chunks": "2/4 chunks", "rows_affected": 14,
        "duration": jobs[runs["failed"].pk]["duration"], "error": "ValueError: the ledger is locked"}
    assert {key: jobs[runs["queued"].pk][key] for key in ("status", "tone", "percent", "chunks")} == {
        "status": "QUEUED", "tone": "warn", "percent": "0%", "chunks": "waiting for a worker"}
    assert sorted(jobs) == sorted([runs["failed"].pk, runs["queued"].pk])


def test_rerunning_a_failed_run_starts_a_new_run_that_records_who_started_it(signed_in, runs, operator,
                                                                            django_capture_on_commit_callbacks):
    Group.objects.create(name="fixed")
    failed = runs["failed"]
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in.post(f"/jobs/{failed.pk}/rerun/", follow=True)

    rerun = JobRun.objects.get(rerun_of=failed)
    assert f"Run {failed.pk} rerun as job {rerun.pk}." in response.content.decode()
    assert (rerun.kind, rerun.parameters, rerun.started_by, rerun.status, rerun.chunks_done) == (
        "test-rows", failed.parameters, operator, "COMPLETED", 4)
    failed.refresh_from_db()
    assert failed.status == "FAILED"
    assert table_rows(response, "jobs")[0][0] == f"{rerun.pk} ↻ {failed.pk}"
    [record] = AuditRecord.objects.filter(record_type="core.jobrun")
    assert (record.action, record.record_id, record.actor, record.reason, record.after["rerun_of_id"]) == (
        "CREATE", str(rerun.pk), operator, f"rerun of failed job {failed.pk} (test-rows)", failed.pk)


def test_a_run_that_did_not_fail_is_not_rerun(signed_in, runs):
    response = signed_in.post(f"/jobs/{runs['done'].pk}/rerun/", follow=True)
    assert f"Only a failed run can be rerun; run {runs['done'].pk} is COMPLETED." in response.content.decode()
    assert JobRun.objects.count() == 3
    assert not AuditRecord.objects.filter(record_type="core.jobrun").exists()


def test_readers_see_the_page_only_operations_rerun(client, runs):
    client.force_login(make_user("acct-dash", "accounting"))
    response = client.get("/jobs/")
    assert response.status_code == 200 and 'class="rerun"' not in response.content.decode()
    assert client.post(f"/jobs/{runs['failed'].pk}/rerun/").status_code == 403
    assert JobRun.objects.count() == 3

    client.force_login(make_user("fo-dash", "front_office"))
    assert client.get("/jobs/").status_code == 403
    assert client.get(f"/jobs/progress/?ids={runs['done'].pk}").status_code == 403
    assert ("Batch jobs", "/jobs/", False) not in nav_links(client.get("/"))


def test_signed_out_visitors_are_sent_to_the_login_page(client):
    response = client.get("/jobs/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_the_first_page_asks_for_new_runs_with_its_filter_and_later_pages_do_not(signed_in, runs, settings):
    content = signed_in.get("/jobs/?kind=test-rows&status=FAILED").content.decode()
    assert 'data-new-runs="kind=test-rows&amp;status=FAILED"' in content
    assert 'data-new-runs=""' in signed_in.get("/jobs/").content.decode()
    for _ in range(60):
        job_create(kind="test-rows", params={"chunks": 1})
    assert "data-new-runs" not in signed_in.get("/jobs/?page=2").content.decode()


def test_the_progress_endpoint_renders_the_runs_after_the_newest_shown_with_the_pages_own_row(signed_in, runs):
    newest = runs["queued"].pk
    assert "new" not in signed_in.get(f"/jobs/progress/?ids={newest}").json()
    assert signed_in.get(f"/jobs/progress/?ids={newest}&after={newest}").json() == {
        "jobs": [signed_in.get(f"/jobs/progress/?ids={newest}").json()["jobs"][0]], "new": []}

    first = job_create(kind="test-rows", params={"chunks": 2}, started_by="beat")
    second = job_create(kind="audit-verify")
    answer = signed_in.get(f"/jobs/progress/?ids=&after={newest}").json()
    assert [(job["id"], job["status"], job["progress"]) for job in answer["new"]] == [
        (first.pk, "QUEUED", 0.0), (second.pk, "QUEUED", 0.0)]
    assert answer["count"] == 5  # every run the (empty) filter matches now, for the pager
    # The row is the page's row: the same cells as the page renders for that run.
    page = signed_in.get("/jobs/")
    assert _unmasked(answer["new"][0]["row"].strip()) == _unmasked(_row_html(page, first.pk))
    assert table_rows(page, "jobs")[1][:5] == [str(first.pk), "Test rows test-rows", "Queued",
                                               "0% waiting for a worker", "beat"]

    # The page's filter holds for the new runs too.
    filtered = signed_in.get(f"/jobs/progress/?after={newest}&kind=audit-verify").json()
    assert ([job["id"] for job in filtered["new"]], filtered["count"]) == ([second.pk], 2)
    assert signed_in.get(f"/jobs/progress/?after={newest}&status=FAILED").json()["new"] == []


def test_new_runs_come_oldest_first_at_most_fifty_at_a_time(signed_in, runs):
    after = runs["queued"].pk
    created = [job_create(kind="test-rows", params={"chunks": 1}).pk for _ in range(53)]
    first = signed_in.get(f"/jobs/progress/?after={after}").json()["new"]
    assert [job["id"] for job in first] == created[:50]
    rest = signed_in.get(f"/jobs/progress/?after={first[-1]['id']}").json()["new"]
    assert [job["id"] for job in rest] == created[50:]


def test_a_new_failed_run_comes_with_its_rerun_form_for_operations_only(signed_in, runs, client):
    failed = job_run_execute(job_id=job_create(kind="test-rows", params={"chunks": 4, "fail_at": 0}).pk)
    [job] = signed_in.get(f"/jobs/progress/?after={runs['queued'].pk}").json()["new"]
    assert job["status"] == "FAILED" and f'action="/jobs/{failed.pk}/rerun/"' in job["row"]
    assert 'name="csrfmiddlewaretoken"' in job["row"] and " hidden>" not in job["row"]

    client.force_login(make_user("acct-new", "accounting"))
    [job] = client.get(f"/jobs/progress/?after={runs['queued'].pk}").json()["new"]
    assert job["id"] == failed.pk and 'class="rerun"' not in job["row"]


def _unmasked(html: str) -> str:
    # A CSRF token is masked anew in every rendering.
    return re.sub(r'name="csrfmiddlewaretoken" value="\w+"', 'name="csrfmiddlewaretoken"', html)


def _row_html(response, job_id: int) -> str:
    content = response.content.decode()
    start = content.index(f'<tr data-job-id="{job_id}"')
    return content[start:content.index("</tr>", start) + len("</tr>")]


def test_a_run_shows_100_percent_only_once_it_has_completed():
    def run(status, done, total):
        return JobRun(kind="test-rows", status=status, chunks_done=done, chunks_total=total)

    assert [percent_text(run("RUNNING", done, 251)) for done in (0, 1, 3, 250, 251)] == [
        "0%", "0%", "1%", "99%", "99%"]
    assert percent_text(run("COMPLETED", 251, 251)) == percent_text(run("COMPLETED", 0, 0)) == "100%"
    assert percent_text(run("FAILED", 2, 4)) == "50%"
    assert [chunks_text(run(status, 0, 0)) for status in ("QUEUED", "RUNNING", "COMPLETED")] == [
        "waiting for a worker", "", ""]
    assert chunks_text(run("RUNNING", 9, 27)) == "9/27 chunks"
