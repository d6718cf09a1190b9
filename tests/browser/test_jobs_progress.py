"""A running audit-verify job's live progress on the jobs page, caught mid-run in a screenshot.

The trail is many small sealed blocks, so the verification has many chunks (one block range each).
The run executes in a background thread, as a worker would, while the page is open; the thread
waits at one chunk until the screenshot is taken, so "mid-run" is a fact, not a race. The
screenshot is test-artifacts/jobs-progress.png.
"""

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from playwright.sync_api import expect

from backoffice.core.jobs.models import JobRun
from backoffice.core.jobs.services import job_create, job_run_execute
from records.audit import jobs as audit_jobs
from records.audit.models import AuditBlock, AuditVerification
from records.audit.services.audit import AuditEntry, audit_log_bulk
from records.audit.services.audit_chain import audit_seal

pytestmark = pytest.mark.browser

SCREENSHOT = Path(settings.BASE_DIR) / "test-artifacts" / "jobs-progress.png"
BLOCKS = 24
RECORDS_PER_BLOCK = 10
HOLD_AT_BLOCK = 10  # the run waits inside the chunk of this block: 9 of 26 chunks done


def _trail_of_small_blocks() -> None:
    with transaction.atomic():
        audit_log_bulk(actor="test", action="UPDATE", entries=[
            AuditEntry("records.price", str(n), {"price": str(n)}, {"price": str(n + 1)})
            for n in range(BLOCKS * RECORDS_PER_BLOCK)])
    audit_seal(max_records=RECORDS_PER_BLOCK)


class Worker(threading.Thread):
    """Execute one run in this process, as a Celery worker would, on its own database connection."""

    def __init__(self, job_id: int):
        super().__init__(daemon=True)
        self.job_id = job_id
        self.outcome = None

    def run(self):
        try:
            self.outcome = job_run_execute(job_id=self.job_id)
        finally:
            connection.close()


def test_a_running_verification_shows_its_progress_between_0_and_100_percent(page, operator, login, monkeypatch):
    _trail_of_small_blocks()
    first_block = AuditBlock.objects.order_by("id").values_list("id", flat=True).first()
    hold_at = first_block + HOLD_AT_BLOCK - 1
    reached, release = threading.Event(), threading.Event()
    verify_blocks = audit_jobs.audit_verify_blocks

    def verify_blocks_held(*, first_block, last_block, **kwargs):
        if first_block == hold_at:
            reached.set()
            release.wait(timeout=30)
        return verify_blocks(first_block=first_block, last_block=last_block, **kwargs)

    monkeypatch.setattr(audit_jobs, "audit_verify_blocks", verify_blocks_held)

    # Earlier runs, as the page shows them any morning: last night's exports and a purge that failed.
    now = timezone.now()
    exports = JobRun.objects.create(kind="daily-exports", status=JobRun.Status.COMPLETED, started_by_label="beat",
                                    steps=[{"name": "export", "chunks": 4, "done": 4}], chunks_total=4,
                                    chunks_done=4, rows_affected=18_240, started_at=now - timedelta(minutes=50),
                                    finished_at=now - timedelta(minutes=48, seconds=23))
    purge = JobRun.objects.create(kind="retention-purge", status=JobRun.Status.FAILED, started_by_label="beat",
                                  steps=[{"name": "purge", "chunks": 9, "done": 3}], chunks_total=9, chunks_done=3,
                                  rows_affected=15_000, started_at=now - timedelta(minutes=20),
                                  finished_at=now - timedelta(minutes=19, seconds=2),
                                  error="OperationalError: canceling statement due to lock timeout")
    for run in (exports, purge):
        JobRun.objects.filter(pk=run.pk).update(created_at=run.started_at)
    base = login("jdoe", "pw-jdoe")
    page.goto(f"{base}/jobs/")
    # Started elsewhere (the audit page, the API, beat) while the page is open: it appears on its own.
    job = job_create(kind="audit-verify", params={"blocks_per_chunk": 1}, started_by=operator)
    blocks = AuditBlock.objects.count()
    assert job.parameters["blocks_per_chunk"] == 1 and blocks >= BLOCKS
    worker = Worker(job.pk)
    worker.start()
    try:
        assert reached.wait(timeout=30), "the run never reached the held chunk"
        total = blocks + 2  # one chunk per block, the unsealed tail, the recorded result
        done = HOLD_AT_BLOCK - 1
        row = page.locator(f'#jobs tr[data-job-id="{job.pk}"]')
        expect(row.locator(".pill")).to_have_text("Running")
        expect(row.locator("[data-field=chunks]")).to_have_text(f"{done}/{total} chunks")
        percent = round(100 * done / total)
        expect(row.locator("[data-field=percent]")).to_have_text(f"{percent}%")
        assert 0 < percent < 100
        assert 0 < float(row.locator("progress").evaluate("bar => bar.value")) < 1
        expect(page.locator(".pager-count")).to_have_text("1–3 of 3")
        # A long error wraps in its cell: the table stays inside the page, its Rerun button in view.
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOT, full_page=True)
    finally:
        release.set()
        worker.join(timeout=30)

    assert worker.outcome is not None and worker.outcome.status == JobRun.Status.COMPLETED
    expect(row.locator(".pill")).to_have_text("Completed")
    expect(row.locator("[data-field=percent]")).to_have_text("100%")
    verification = AuditVerification.objects.get(pk=worker.outcome.result[-1]["verification_id"])
    assert (verification.ok, verification.blocks_checked) == (True, blocks)
