# ruff: noqa: F811 - the fixtures imported from the helpers are parameters of the tests
"""A running end of day, seen live: the run executes in a background thread, as a worker would, and waits inside
the posting stage until the page has shown it; then the page follows it to the end without a reload by hand.

Screenshot: test-artifacts/screenshots/eod-running.png.
"""

import threading

import pytest
from django.db import connection
from playwright.sync_api import expect

from accounting.posting import jobs as posting_jobs
from backoffice.core.jobs.models import JobRun
from backoffice.core.jobs.services import job_run_execute
from backoffice.eod import services
from tests.backoffice.helpers_eod import book_a_day
from tests.clearing.helpers_netting import SETTLES, firm  # noqa: F401

pytestmark = pytest.mark.browser


class Worker(threading.Thread):
    def __init__(self, job_id: int):
        super().__init__(daemon=True)
        self.job_id = job_id
        self.outcome = None

    def run(self):
        try:
            self.outcome = job_run_execute(job_id=self.job_id)
        finally:
            connection.close()


def test_a_running_end_of_day_shows_its_stage_live_and_follows_it_to_the_end(page, operator, login, screenshot,
                                                                            firm, monkeypatch):
    book_a_day(firm)
    reached, release = threading.Event(), threading.Event()
    post = posting_jobs._post

    def post_held(job, index):
        if index == 0:
            reached.set()
            release.wait(timeout=30)
        return post(job, index)

    monkeypatch.setattr(posting_jobs, "_post", post_held)
    job = services.eod_run_create(settlement_date=SETTLES, started_by=operator)
    base = login("jdoe", "pw-jdoe")
    worker = Worker(job.pk)
    worker.start()
    try:
        assert reached.wait(timeout=30), "the run never reached posting"
        page.goto(f"{base}/eod/{job.pk}/")
        stages = page.locator("#eod-stages tbody tr")
        expect(stages.nth(2).locator(".pill")).to_have_text("Completed")
        expect(stages.nth(3).locator(".pill")).to_have_text("Running")
        expect(stages.nth(4).locator(".pill")).to_have_text("Not started")
        expect(page.locator("#eod-run .pill")).to_have_text("Running")
        screenshot("eod-running")
    finally:
        release.set()
        worker.join(timeout=60)

    assert worker.outcome is not None and worker.outcome.status == JobRun.Status.COMPLETED, worker.outcome
    # eod.js polls the running jobs and reloads the page as stages end: nobody touches it.
    expect(page.locator("#eod-run .pill")).to_have_text("Completed", timeout=15_000)
    expect(stages.locator(".pill")).to_have_text(["Completed"] * 7)
