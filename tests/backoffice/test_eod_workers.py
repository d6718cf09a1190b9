# ruff: noqa: F811 - the fixtures imported from the helpers are parameters of the tests
"""The end of day on two worker processes gives exactly what one worker gives, record by record.

One worker: the EOD run executed in this process (no other worker; found, then rolled back). Two workers: a
`manage.py run_eod --now` process that runs the pipeline and queues JOB_TASKS_PER_RUN - 1 more task for each
stage's job to Redis, and a real Celery worker process that takes those tasks and shares the stages' chunks.
The chunks are cut fine (EOD_STAGE_PARAMETERS) so that each stage has several. Needs Redis (the broker):
EOD_TEST_BROKER_URL, default redis://127.0.0.1:6379/13; skipped when it does not answer.
"""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.db import connection, transaction
from django.test import override_settings

from backoffice.core.jobs.models import JobChunk, JobRun
from tests.backoffice.helpers_eod import STAGE_KINDS, book_a_day, outcome, run_eod
from tests.clearing.helpers_netting import firm  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
BROKER = os.environ.get("EOD_TEST_BROKER_URL", "redis://127.0.0.1:6379/13")
FINE_CHUNKS = {"clearing-netting": {"trades_per_chunk": 1}, "settlement-run": {"instructions_per_chunk": 1}}


def _broker_answers() -> bool:
    url = urlparse(BROKER)
    try:
        with socket.create_connection((url.hostname or "127.0.0.1", url.port or 6379), timeout=1):
            return True
    except OSError:
        return False


pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.broker,
              pytest.mark.skipif(not _broker_answers(), reason=f"needs Redis at {BROKER} (EOD_TEST_BROKER_URL)")]


class _Rollback(Exception):
    pass


def _database_environment() -> dict:
    """DATABASE_URL (and libpq's PGUSER, PGPORT) for the test database: a server by host and port, or the
    embedded one of `make test` by its socket directory (a host that is a path)."""
    database = connection.settings_dict
    host, port, user = database["HOST"] or "127.0.0.1", str(database["PORT"] or 5432), database["USER"] or ""
    if host.startswith("/"):
        return {"DATABASE_URL": f"postgres:///{host}/{database['NAME']}", "PGUSER": user, "PGPORT": port}
    return {"DATABASE_URL": f"postgres://{user}@{host}:{port}/{database['NAME']}"}


def _environment() -> dict:
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "backoffice.settings.base", **_database_environment(),
            "CELERY_BROKER_URL": BROKER, "CELERY_TASK_ALWAYS_EAGER": "false", "JOB_TASKS_PER_RUN": "2",
            "EOD_STAGE_PARAMETERS": json.dumps(FINE_CHUNKS), "CONN_MAX_AGE": "0", "DEBUG": "false"}


def _celery(*args, env, **kwargs):
    return subprocess.Popen([sys.executable, "-m", "celery", "-A", "backoffice", *args], cwd=ROOT, env=env, **kwargs)


def _start_worker(env, log: Path) -> subprocess.Popen:
    """A Celery worker process (solo pool: one task at a time, like one worker process); return once it is ready."""
    _celery("purge", "-f", env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).wait(60)
    worker = _celery("worker", "--pool=solo", "--concurrency=1", "--without-mingle", "--without-gossip",
                     "--without-heartbeat", "-n", f"eod-test-{os.getpid()}@%h", "--loglevel=INFO", env=env,
                     stdout=log.open("w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while "ready." not in log.read_text():
        assert worker.poll() is None, log.read_text()
        assert time.monotonic() < deadline, "the worker did not start:\n" + log.read_text()
        time.sleep(0.2)
    return worker


def test_two_worker_processes_give_the_result_of_one_worker_record_by_record(firm, tmp_path):
    book_a_day(firm)
    with override_settings(EOD_STAGE_PARAMETERS=FINE_CHUNKS):
        try:
            with transaction.atomic():  # on_commit never fires in here: no task is queued, one worker
                alone_job = run_eod()
                alone = outcome()
                alone_chunks = sorted(JobChunk.objects.filter(job__parent=alone_job)
                                      .values_list("job__kind", "step", "index"))
                raise _Rollback
        except _Rollback:
            pass
    assert alone_job.status == "COMPLETED", alone_job.error
    assert len(alone["obligations"]) == 4 and len(alone["fails"]) == 1 and alone["journal"]
    assert JobRun.objects.count() == 0

    env = _environment()
    log = tmp_path / "worker.log"
    connection.close()  # the processes below see what this test committed
    worker = _start_worker(env, log)
    try:
        runner = subprocess.run([sys.executable, "manage.py", "run_eod", "--date", "2026-11-23", "--now"], cwd=ROOT,
                                env=env, capture_output=True, text=True, timeout=300)
        assert runner.returncode == 0, runner.stdout + runner.stderr
        children = list(JobRun.objects.exclude(kind="eod").order_by("id"))
        deadline = time.monotonic() + 60  # the worker takes the last queued tasks (they find their job done)
        while log.read_text().count("succeeded in") < len(children) and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        worker.terminate()
        worker.wait(30)

    job = JobRun.objects.get(kind="eod")
    assert job.status == "COMPLETED", job.error
    assert [child.kind for child in children] == STAGE_KINDS
    assert all(child.status == "COMPLETED" and child.parent_id == job.pk for child in children)
    # Each stage's job got a task on the worker process, as well as being run by run_eod's.
    worker_log = log.read_text()
    assert worker_log.count("Task backoffice.job_run[") >= 2 * len(children), worker_log
    assert sorted(JobChunk.objects.filter(job__parent=job).values_list("job__kind", "step", "index")) == alone_chunks
    # The worker process began executing stages' jobs while run_eod's process was on them (a job counts each
    # worker that begins it): it shared their chunks (6 of the 7 when measured).
    assert any(JobRun.objects.get(pk=child.pk).attempts == 2 for child in children)
    assert outcome() == alone
