#!/usr/bin/env python
"""The end-of-day pipeline of one settlement date, stage by stage, on one worker process or two.

    createdb -h 127.0.0.1 -U postgres bench_eod
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_eod
    python manage.py migrate
    python bench/eod_stages.py --trades 100000 --workers 1
    python bench/eod_stages.py --trades 100000 --workers 2     # needs Redis: --broker

Each run takes a past settlement date with no trades yet (from 2026-06-01 on: the EOD refuses future
dates), loads --trades BOOKED locked-in trades for it with bench/settlement.py's loader (COPY; reference
data, SSIs, opening stock and cash; every tenth account short of stock, another tenth short of cash), then
runs `manage.py run_eod --date D --now` in a child process, timed: with --workers 1, JOB_TASKS_PER_RUN=1 (no
other worker); with --workers 2, JOB_TASKS_PER_RUN=2 and a Celery worker process (solo pool) on --broker
taking the task each stage's job queues. Chunks: --trades-per-chunk for netting, --instructions-per-chunk
for settlement (EOD_STAGE_PARAMETERS). Prints each stage's chunks, rows, seconds and workers (attempts),
the total, and run_eod's peak RSS.

Posting posts everything not posted yet: run one --workers setting per fresh database, or compare runs
that each start with nothing unposted. The loader writes positions and openings by SQL, not through the
services, so the reconciliation stage reports breaks on this data: its time is the point, not its result.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings.base")
os.environ.setdefault("DEBUG", "false")

import django  # noqa: E402

django.setup()

import settlement as loader  # noqa: E402
from common import fresh_settlement_date  # noqa: E402

from backoffice.core.jobs.models import JobRun  # noqa: E402
from backoffice.eod import selectors  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trades", type=int, default=100_000)
    parser.add_argument("--workers", type=int, choices=(1, 2), default=1)
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--trades-per-chunk", type=int, default=20_000)
    parser.add_argument("--instructions-per-chunk", type=int, default=5_000)
    args = parser.parse_args()

    day = fresh_settlement_date(date(2026, 6, 1))
    accounts, counterparties, instruments = loader.reference_data(200, 1000)
    started = time.monotonic()
    loader.load_day(args.trades, day, accounts, counterparties, instruments, seed=7)
    print(f"loaded {args.trades:,} trades settling {day} in {time.monotonic() - started:.1f} s")

    env = {**os.environ, "JOB_TASKS_PER_RUN": str(args.workers), "EOD_STAGE_PARAMETERS": json.dumps({
        "clearing-netting": {"trades_per_chunk": args.trades_per_chunk},
        "settlement-run": {"instructions_per_chunk": args.instructions_per_chunk}})}
    worker = None
    if args.workers == 2:
        env.update({"CELERY_TASK_ALWAYS_EAGER": "false", "CELERY_BROKER_URL": args.broker})
        celery = [sys.executable, "-m", "celery", "-A", "backoffice"]
        subprocess.run([*celery, "purge", "-f"], cwd=ROOT, env=env, capture_output=True)
        worker = subprocess.Popen([*celery, "worker", "--pool=solo", "--without-mingle", "--without-gossip",
                                   "--without-heartbeat", "-n", f"bench-eod-{os.getpid()}@%h"], cwd=ROOT, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(6)  # the worker connects to the broker
    started = time.monotonic()
    run = subprocess.run(["/usr/bin/time", "-v", sys.executable, "manage.py", "run_eod", "--date", day.isoformat(),
                          "--now"], cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.monotonic() - started
    if worker is not None:
        worker.terminate()
        worker.wait(30)
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", run.stderr)
    job = JobRun.objects.filter(kind="eod", parameters__settlement_date=day.isoformat()).order_by("-id").first()
    if run.returncode != 0 or job is None:
        sys.exit(run.stdout + run.stderr)
    print(f"end of day {day}, {args.workers} worker process{'es' if args.workers > 1 else ''}: {job.status} in "
          f"{seconds:.1f} s (run_eod peak RSS {int(peak.group(1)) / 1024 if peak else 0:.0f} MiB)")
    print(f"  {'stage':<15} {'chunks':>6} {'rows':>9} {'seconds':>8} {'workers':>7}")
    for view in selectors.eod_stages(job):
        child = view.child
        if child is None:
            print(f"  {view.name:<15} {view.status}")
            continue
        print(f"  {view.name:<15} {child.chunks_total:>6} {child.rows_affected:>9,} "
              f"{child.duration.total_seconds():>8.1f} {child.attempts:>7}")


if __name__ == "__main__":
    main()
