# ruff: noqa: F811 - the fixtures imported from the helpers are parameters of the tests
"""The end of day in a browser, as an operations clerk works it: run a date's end of day, see it stop at a failing
stage with its reason, rerun the failed stage after a confirmation, and read the history.

Screenshots: test-artifacts/screenshots/eod-run-failed.png, eod-rerun-confirm.png, eod-run.png, eod-runs.png.
"""

import pytest
from playwright.sync_api import expect

from backoffice.core.jobs.models import JobRun
from settlements.fails import jobs as fail_jobs
from tests.backoffice.helpers_eod import book_a_day
from tests.clearing.helpers_netting import firm  # noqa: F401

pytestmark = pytest.mark.browser


def test_a_clerk_runs_the_end_of_day_sees_it_stop_and_reruns_the_failed_stage(page, operator, login, screenshot,
                                                                              firm, monkeypatch):
    book_a_day(firm)
    monkeypatch.setattr(fail_jobs, "_run_accrue", lambda job, index: 1 / 0)
    base = login("jdoe", "pw-jdoe")
    page.goto(f"{base}/eod/")
    expect(page.locator("#eod-runs td.empty")).to_contain_text("No end-of-day runs yet")
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_label("Settlement date").first.fill("2026-11-23")
    page.locator("#run-eod-button").click()
    page.wait_for_load_state()

    failed = JobRun.objects.get(kind="eod")
    expect(page.locator("#run-error")).to_contain_text("The run stopped at settlement")
    expect(page.locator("#eod-stages tbody tr").nth(2)).to_contain_text("ZeroDivisionError: division by zero")
    expect(page.locator("#eod-stages tbody tr").nth(3)).to_contain_text("Not started")
    screenshot("eod-run-failed")

    monkeypatch.undo()
    page.locator("#rerun-failed-stage").click()
    expect(page.locator("#rerun-confirm")).to_contain_text("keeping the 2 of 3 chunks it committed")
    screenshot("eod-rerun-confirm")
    page.locator("#confirm-rerun").click()
    page.wait_for_load_state()

    rerun = JobRun.objects.get(rerun_of=failed)
    assert rerun.status == "COMPLETED", rerun.error
    assert page.url.endswith(f"/eod/{rerun.pk}/")
    expect(page.locator("#eod-stages tbody tr .pill")).to_have_text(["Completed"] * 7)
    screenshot("eod-run")

    page.goto(f"{base}/eod/")
    expect(page.locator("#eod-runs tbody tr")).to_have_count(2)
    screenshot("eod-runs")
