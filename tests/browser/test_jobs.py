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
