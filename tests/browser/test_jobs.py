"""The jobs page in a browser: a running job's progress advances without a reload."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from backoffice.core.jobs.models import JobRun

pytestmark = pytest.mark.browser


def test_a_running_jobs_progress_advances_on_the_page_without_a_reload(page, operator, login, screenshot):
    job = JobRun.objects.create(kind="retention-purge", status=JobRun.Status.RUNNING, started_at=timezone.now(),
                                steps=[{"name": "purge", "chunks": 4, "done": 1}], chunks_total=4, chunks_done=1,
                                rows_affected=120, started_by_label="beat")
    base = login("jdoe", "pw-jdoe")
    page.goto(f"{base}/jobs/")
    row = page.locator(f'#jobs tr[data-job-id="{job.pk}"]')
    expect(row.locator("[data-field=percent]")).to_have_text("25%")
    expect(row.locator(".pill")).to_have_text("Running")
    page.evaluate("window.notReloaded = true")

    JobRun.objects.filter(pk=job.pk).update(chunks_done=3, rows_affected=360)
    expect(row.locator("[data-field=percent]")).to_have_text("75%")
    expect(row.locator("[data-field=chunks]")).to_have_text("3/4 chunks")
    expect(row.locator("[data-field=rows]")).to_have_text("360")
    screenshot("jobs-running")

    JobRun.objects.filter(pk=job.pk).update(status=JobRun.Status.FAILED, finished_at=timezone.now(),
                                            error="OperationalError: could not connect to server")
    expect(row.locator(".pill")).to_have_text("Failed")
    expect(row.locator(".pill")).to_have_class("pill pill-bad")
    expect(row.locator("[data-field=error]")).to_have_text("OperationalError: could not connect to server")
    expect(row.get_by_role("button", name="Rerun")).to_be_visible()
    assert page.evaluate("window.notReloaded") is True
    screenshot("jobs-failed")

    # The rerun asks first; declined, nothing happens; accepted, a new run starts.
    page.once("dialog", lambda dialog: dialog.dismiss())
    row.get_by_role("button", name="Rerun").click()
    expect(row.locator(".pill")).to_have_text("Failed")
    assert JobRun.objects.count() == 1
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Rerun").click()
    expect(page.locator(".messages")).to_contain_text(f"Run {job.pk} rerun as job ")
    rerun = JobRun.objects.get(rerun_of=job)
    expect(page.locator(".messages")).to_contain_text(f"Run {job.pk} rerun as job {rerun.pk}.")
    expect(page.locator(f'#jobs tr[data-job-id="{rerun.pk}"] .pill')).to_have_text("Completed")
    assert (rerun.kind, rerun.started_by_label) == ("retention-purge", "jdoe")


def test_runs_started_elsewhere_appear_on_top_of_the_page_and_progress_without_a_reload(page, operator, login):
    base = login("jdoe", "pw-jdoe")
    page.goto(f"{base}/jobs/")
    expect(page.locator("#jobs td.empty")).to_have_text(
        "No job runs yet: the scheduled jobs, the API and the pages that start jobs add them here.")
    page.evaluate("window.notReloaded = true")

    # Started by beat, say: the page did not start it and knows nothing of it.
    first = JobRun.objects.create(kind="retention-purge", status=JobRun.Status.RUNNING, started_at=timezone.now(),
                                  steps=[{"name": "purge", "chunks": 8, "done": 2}], chunks_total=8, chunks_done=2,
                                  started_by_label="beat")
    row = page.locator(f'#jobs tr[data-job-id="{first.pk}"]')
    expect(row.locator("[data-field=percent]")).to_have_text("25%")
    expect(row.locator(".pill")).to_have_text("Running")
    expect(page.locator("#jobs td.empty")).to_have_count(0)
    expect(page.locator(".pager-count")).to_have_text("1–1 of 1")

    JobRun.objects.filter(pk=first.pk).update(chunks_done=6, rows_affected=1200)
    expect(row.locator("[data-field=percent]")).to_have_text("75%")
    expect(row.locator("[data-field=rows]")).to_have_text("1,200")

    second = JobRun.objects.create(kind="audit-verify", started_by_label="command:run_job")
    expect(page.locator("#jobs tbody tr").first).to_have_attribute("data-job-id", str(second.pk))
    expect(page.locator("#jobs tbody tr")).to_have_count(2)
    expect(page.locator(".pager-count")).to_have_text("1–2 of 2")
    JobRun.objects.filter(pk=second.pk).update(status=JobRun.Status.FAILED, error="ValueError: broken chain")
    second_row = page.locator(f'#jobs tr[data-job-id="{second.pk}"]')
    expect(second_row.locator(".pill")).to_have_text("Failed")
    expect(second_row.get_by_role("button", name="Rerun")).to_be_visible()
    assert page.evaluate("window.notReloaded") is True

    # A rerun from an added row asks first, as from the page's own rows.
    page.once("dialog", lambda dialog: dialog.dismiss())
    second_row.get_by_role("button", name="Rerun").click()
    expect(second_row.locator(".pill")).to_have_text("Failed")
    assert JobRun.objects.count() == 2


def test_the_page_takes_in_only_new_runs_matching_its_filter(page, operator, login):
    old = JobRun.objects.create(kind="audit-verify", started_by_label="beat")
    base = login("jdoe", "pw-jdoe")
    page.goto(f"{base}/jobs/?kind=audit-verify")
    expect(page.locator("#jobs tbody tr")).to_have_count(1)

    JobRun.objects.create(kind="retention-purge", started_by_label="beat")
    match = JobRun.objects.create(kind="audit-verify", started_by_label="beat")
    expect(page.locator("#jobs tbody tr[data-job-id]")).to_have_count(2)
    assert page.locator("#jobs tbody tr[data-job-id]").evaluate_all(
        "rows => rows.map(row => Number(row.dataset.jobId))") == [match.pk, old.pk]
    expect(page.locator(".pager-count")).to_have_text("1–2 of 2")
