#!/usr/bin/env python
"""The end of day of a big settlement date, end to end: trades in through the file path, the EOD pipeline through
real Celery workers on PostgreSQL and Redis, next to hand-written SQL doing netting, settlement and posting of the
same trades in the same run.

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_eod_full
    python bench/eod.py --fresh --trades 1000000 --workers 2 --broker redis://127.0.0.1:6379/12

1. --fresh drops and recreates the database DATABASE_URL names (refused unless its name starts with "bench")
   and migrates it. Reference data as bench/settlement.py makes it (--accounts accounts, --instruments
   instruments on XNAS, a CCP, its members and a locked-in bilateral counterparty, SSIs).
2. A settlement date D without trades (from 2026-06-01 on: the EOD refuses future dates), trades dated the XNAS
   session before it. The accounts are given, by SQL, the opening stock and cash the trades need (every tenth
   short of stock, another tenth short of cash: the default compliance rules hold or refuse some of them).
3. The trades as a CSV file, uploaded through the product's file path (trade_file_upload: COPY into staging)
   in this process; the booking job (pre-trade checks, capture, positions, audit) runs on --workers Celery
   worker processes (solo pool) on --broker, as `make run`'s worker would. Timed.
4. The hand-written SQL, timed, in one transaction rolled back: netting (GROUP BY into obligations and the
   trades' UPDATE to CLEARED), settlement (every obligation's positions and cash moved, the movements
   written) and posting (two trade-date lines and two settlement lines per trade written) of D's trades.
5. The end of day of D (eod_run_start, as the API starts it) on the same workers, JOB_TASKS_PER_RUN = --workers
   so that every worker takes each stage's chunks. Timed per stage (its child job) and in total.

Prints the phases' and stages' seconds and rows, the ratio of the pipeline's netting, settlement and posting to
the hand-written SQL's, the peak RSS (VmHWM) of this process and of each worker, and per stage the largest
worker's resident memory while it ran (sampled four times a second), which says which stage a peak belongs to.
"""

import argparse
import csv
import math
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings.base")
os.environ.setdefault("DEBUG", "false")
os.environ["CELERY_TASK_ALWAYS_EAGER"] = "false"
BROKER = os.environ.get("BENCH_BROKER", "redis://127.0.0.1:6379/12")
for n, arg in enumerate(sys.argv):
    if arg == "--broker" and n + 1 < len(sys.argv):
        BROKER = sys.argv[n + 1]
os.environ["CELERY_BROKER_URL"] = BROKER

import django  # noqa: E402

django.setup()

import settlement as loader  # noqa: E402
from common import fresh_settlement_date, peak_rss_mib  # noqa: E402
from django.contrib.auth.models import Group, User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from backoffice.core.jobs.models import JobRun  # noqa: E402
from backoffice.eod import selectors as eod_selectors  # noqa: E402
from backoffice.eod.services import eod_run_start  # noqa: E402
from records.reference.models import Account, Counterparty, Instrument, Market  # noqa: E402
from records.reference.services.calendar import is_trading_session  # noqa: E402
from records.trades.files import services as files  # noqa: E402

HEADER = ["external_ref", "account", "counterparty", "instrument", "side", "quantity", "price", "trade_date",
          "settlement_date", "currency", "commission"]
TERMINAL = (JobRun.Status.COMPLETED, JobRun.Status.FAILED)


def fresh_database() -> None:
    import psycopg

    settings = connection.settings_dict
    name = settings["NAME"]
    if not name.startswith("bench"):
        sys.exit(f"--fresh drops the database: its name must start with 'bench', not {name!r}")
    connection.close()
    with psycopg.connect(host=settings["HOST"], port=settings["PORT"] or 5432, user=settings["USER"],
                         dbname="postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    started = time.monotonic()
    call_command("migrate", verbosity=0)
    print(f"database {name} recreated and migrated in {time.monotonic() - started:.1f} s")


def trade_date_before(day: date) -> date:
    market = Market.objects.get(mic="XNAS")
    before = day - timedelta(days=1)
    while not is_trading_session(market=market, day=before):
        before -= timedelta(days=1)
    return before


def generate(count: int, day: date, account_ids, counterparty_ids, instrument_ids, seed: int):
    """The trades as rows of the file, and what they need: stock per (account, instrument) sold, cash per account."""
    codes = dict(Account.objects.filter(pk__in=account_ids).values_list("pk", "code"))
    parties = dict(Counterparty.objects.filter(pk__in=counterparty_ids).values_list("pk", "code"))
    isins = dict(Instrument.objects.filter(pk__in=instrument_ids).values_list("pk", "isin"))
    rng = random.Random(seed)
    weights = [1 / (rank + 1) ** 0.8 for rank in range(len(instrument_ids))]
    picked = rng.choices(instrument_ids, weights=weights, k=count)
    traded, settles = trade_date_before(day).isoformat(), day.isoformat()
    sold, spent = defaultdict(int), defaultdict(Decimal)
    rows = []
    for n in range(count):
        account = account_ids[rng.randrange(len(account_ids))]
        side = "BUY" if rng.random() < 0.5 else "SELL"
        quantity, price = rng.randint(1, 2000), Decimal(rng.randint(500, 90000)) / 100
        if side == "SELL":
            sold[(account, picked[n])] += quantity
        else:
            spent[account] += quantity * price
        rows.append((f"EODB-{settles}-{n}", codes[account], parties[counterparty_ids[n % len(counterparty_ids)]],
                     isins[picked[n]], side, str(quantity), f"{price:.2f}", traded, settles, "USD", "0"))
    return rows, sold, spent


def fund(sold: dict, spent: dict, day: date) -> None:
    """Opening stock (110% of what each position sells; half for every tenth account) and cash (120% of the buys;
    a third for every tenth account), as positions, stock and cash movements and balances, by SQL."""
    opened = (day - timedelta(days=10)).isoformat()
    stock = [(a, i, math.ceil(q * (0.5 if a % 10 == 3 else 1.1))) for (a, i), q in sold.items()]
    cash = [(a, (v * (Decimal("0.33") if a % 10 == 7 else Decimal("1.2"))).quantize(Decimal("0.01")))
            for a, v in spent.items()]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE bench_stock (account_id bigint, instrument_id bigint, quantity numeric) "
                       "ON COMMIT DROP")
        with cursor.cursor.copy("COPY bench_stock FROM STDIN") as copy:
            for row in stock:
                copy.write_row(row)
        cursor.execute("CREATE TEMP TABLE bench_cash (account_id bigint, amount numeric) ON COMMIT DROP")
        with cursor.cursor.copy("COPY bench_cash FROM STDIN") as copy:
            for row in cash:
                copy.write_row(row)
        cursor.execute("""
INSERT INTO records_stockmovement (account_id, instrument_id, quantity, value_date, kind, reference, description,
                                   created_at)
SELECT account_id, instrument_id, quantity, %(opened)s, 'OPENING', 'EODB-OPEN-' || %(day)s || '-' || account_id
       || '-' || instrument_id, 'bench opening stock', now() FROM bench_stock""", {"opened": opened, "day": day})
        cursor.execute("""
INSERT INTO records_position AS p (account_id, instrument_id, traded_quantity, settled_quantity, pending_receipt,
                                   pending_delivery, updated_at)
SELECT account_id, instrument_id, quantity, quantity, 0, 0, now() FROM bench_stock
ON CONFLICT (account_id, instrument_id) DO UPDATE SET traded_quantity = p.traded_quantity + excluded.traded_quantity,
    settled_quantity = p.settled_quantity + excluded.settled_quantity""")
        cursor.execute("""
INSERT INTO records_cashmovement (account_id, currency, amount, value_date, kind, reference, description, created_at)
SELECT account_id, 'USD', amount, %(opened)s, 'DEPOSIT', 'EODB-CASH-' || %(day)s || '-' || account_id,
       'bench opening cash', now() FROM bench_cash""", {"opened": opened, "day": day})
        cursor.execute("""
INSERT INTO records_cashbalance AS b (account_id, currency, balance, reserved, updated_at)
SELECT account_id, 'USD', amount, 0, now() FROM bench_cash
ON CONFLICT (account_id, currency) DO UPDATE SET balance = b.balance + excluded.balance""")


def start_workers(count: int, tasks_per_run: int) -> list[subprocess.Popen]:
    env = {**os.environ, "JOB_TASKS_PER_RUN": str(tasks_per_run), "CELERY_BROKER_URL": BROKER,
           "CELERY_TASK_ALWAYS_EAGER": "false"}
    celery = [sys.executable, "-m", "celery", "-A", "backoffice"]
    subprocess.run([*celery, "purge", "-f"], cwd=ROOT, env=env, capture_output=True)
    workers = [subprocess.Popen([*celery, "worker", "--pool=solo", "--without-mingle", "--without-gossip",
                                 "--without-heartbeat", "--loglevel=WARNING", "-n", f"bench-eod-{n}-{os.getpid()}@%h"],
                                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
               for n in range(count)]
    time.sleep(6)  # the workers connect to the broker
    return workers


def proc_mib(pid: int, field: str) -> float:
    """A memory figure of /proc/<pid>/status (VmHWM: the peak; VmRSS: now) in MiB; NaN once the process is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
        return int(next(line for line in text.splitlines() if line.startswith(f"{field}:")).split()[1]) / 1024
    except (OSError, StopIteration):
        return float("nan")


def worker_peaks(workers) -> list[float]:
    return [proc_mib(worker.pid, "VmHWM") for worker in workers]


class RssSampler(threading.Thread):
    """Samples the workers' resident memory (VmRSS) four times a second, with the wall-clock time, so that a
    peak can be put down to the stage running then (VmHWM only gives each process's peak over its life)."""

    def __init__(self, workers):
        super().__init__(daemon=True)
        self.pids = [worker.pid for worker in workers]
        self.samples: list[tuple[float, float]] = []  # (time, the largest worker's RSS in MiB)
        self.stopped = threading.Event()

    def run(self):
        while not self.stopped.wait(0.25):
            rss = [mib for mib in (proc_mib(pid, "VmRSS") for pid in self.pids) if not math.isnan(mib)]
            if rss:
                self.samples.append((time.time(), max(rss)))

    def peak(self, start, end) -> float:
        """The largest worker's peak between two datetimes (a job's started_at and finished_at)."""
        low, high = start.timestamp(), end.timestamp() + 0.5
        return max((rss for at, rss in self.samples if low <= at <= high), default=float("nan"))


def wait(job_id: int, timeout: float) -> JobRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = JobRun.objects.get(pk=job_id)
        if job.status in TERMINAL:
            return job
        time.sleep(0.5)
    sys.exit(f"job {job_id} did not finish within {timeout:.0f} s")


HAND_NETTING = """
CREATE TEMP TABLE hand_obligation ON COMMIT DROP AS
SELECT account_id, instrument_id, counterparty_id, settlement_date,
       SUM(CASE WHEN side = 'BUY' THEN quantity ELSE -quantity END) AS quantity,
       SUM(CASE WHEN side = 'BUY' THEN -(quantity * price + commission) ELSE quantity * price - commission END) AS cash
FROM records_trade WHERE settlement_date = %(day)s AND status = 'BOOKED'
GROUP BY account_id, instrument_id, counterparty_id, settlement_date;
UPDATE records_trade SET status = 'CLEARED' WHERE settlement_date = %(day)s AND status = 'BOOKED';
"""
HAND_SETTLEMENT = """
CREATE TEMP TABLE hand_movement ON COMMIT DROP AS
SELECT account_id, instrument_id, counterparty_id, quantity, cash, now() AS settled_at FROM hand_obligation;
UPDATE records_position p SET settled_quantity = p.settled_quantity + m.quantity
FROM (SELECT account_id, instrument_id, SUM(quantity) AS quantity FROM hand_obligation
      GROUP BY account_id, instrument_id) m
WHERE p.account_id = m.account_id AND p.instrument_id = m.instrument_id;
UPDATE records_cashbalance b SET balance = b.balance + m.cash
FROM (SELECT account_id, SUM(cash) AS cash FROM hand_obligation GROUP BY account_id) m
WHERE b.account_id = m.account_id AND b.currency = 'USD';
UPDATE records_trade SET status = 'SETTLED', settled_quantity = quantity
WHERE settlement_date = %(day)s AND status = 'CLEARED';
"""
HAND_POSTING = """
CREATE TEMP TABLE hand_line (trade_id bigint, account_id bigint, instrument_id bigint, role text, amount numeric,
                             quantity numeric, entry_date date) ON COMMIT DROP;
INSERT INTO hand_line
SELECT t.id, t.account_id, t.instrument_id, l.role, l.sign * t.quantity * t.price, l.units * t.quantity, t.trade_date
FROM records_trade t CROSS JOIN (VALUES ('INVESTMENTS', 1, 1), ('PAYABLE', -1, 0)) AS l (role, sign, units)
WHERE t.settlement_date = %(day)s;
INSERT INTO hand_line
SELECT t.id, t.account_id, t.instrument_id, l.role, l.sign * t.quantity * t.price, 0, t.settlement_date
FROM records_trade t CROSS JOIN (VALUES ('PAYABLE', 1), ('CASH', -1)) AS l (role, sign)
WHERE t.settlement_date = %(day)s;
"""


class Rollback(Exception):
    pass


def hand_written(day: date) -> dict:
    seconds = {}
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            for name, sql in (("netting", HAND_NETTING), ("settlement", HAND_SETTLEMENT), ("posting", HAND_POSTING)):
                started = time.monotonic()
                for statement in filter(str.strip, sql.split(";")):
                    cursor.execute(statement, {"day": day})
                seconds[name] = time.monotonic() - started
            raise Rollback
    except Rollback:
        pass
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trades", type=int, default=1_000_000)
    parser.add_argument("--accounts", type=int, default=2_000)
    parser.add_argument("--instruments", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--broker", default=BROKER, help="the Celery broker (default redis://127.0.0.1:6379/12)")
    parser.add_argument("--fresh", action="store_true")
    parser.add_argument("--seed", type=int, default=20261204)
    parser.add_argument("--timeout", type=float, default=7200)
    args = parser.parse_args()
    from django.conf import settings

    settings.JOB_TASKS_PER_RUN = args.workers  # the jobs this process queues (the file's, the EOD's) too
    if args.fresh:
        fresh_database()
    host = urlparse(BROKER).hostname
    print(f"{args.trades:,} trades, {args.workers} worker process(es), broker {BROKER.split('://')[0]} on {host}, "
          f"{os.cpu_count()} cores")

    accounts, counterparties, instruments = loader.reference_data(args.instruments, args.accounts)
    desk, _ = User.objects.get_or_create(username="bench-eod-desk")
    desk.groups.add(Group.objects.get(name="front_office"))
    day = fresh_settlement_date(date(2026, 6, 1))
    started = time.monotonic()
    rows, sold, spent = generate(args.trades, day, accounts, counterparties, instruments, args.seed)
    fund(sold, spent, day)
    with tempfile.NamedTemporaryFile("w", suffix=".csv", newline="", delete=False) as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(rows)
        path = out.name
    del rows
    print(f"settlement date {day}: {args.trades:,} trades written to a {os.path.getsize(path) / 2**20:.0f} MiB CSV, "
          f"the accounts funded, in {time.monotonic() - started:.1f} s")

    workers = start_workers(args.workers, args.workers)
    sampler = RssSampler(workers)
    sampler.start()
    try:
        started = time.monotonic()
        with open(path, "rb") as stream:
            file = files.trade_file_upload(uploaded_by=desk, stream=stream, name=Path(path).name, format="csv")
        staged = time.monotonic()
        job = wait(file.job_id, args.timeout)
        booked = time.monotonic()
        file.refresh_from_db()
        if job.status != JobRun.Status.COMPLETED:
            sys.exit(f"the trade file's job failed: {job.error}")
        print(f"trade file: upload (COPY into staging) {staged - started:7.1f} s, booking on the workers "
              f"{booked - staged:7.1f} s: {args.trades / (booked - started):,.0f} trades/s end to end "
              f"(created {file.created:,}, duplicate {file.duplicate:,}, rejected {file.rejected:,}; "
              f"busiest worker {sampler.peak(job.started_at, job.finished_at):.0f} MiB)")
        with connection.cursor() as cursor:
            cursor.execute("SELECT status, count(*) FROM records_trade WHERE settlement_date = %s GROUP BY status "
                           "ORDER BY status", [day])
            print("  trades by status: " + ", ".join(f"{status} {n:,}" for status, n in cursor.fetchall()))
            for table in ("records_trade", "records_position", "records_cashbalance"):
                cursor.execute(f"ANALYZE {table}")

        hand = hand_written(day)
        print("hand-written SQL (rolled back): " + ", ".join(f"{k} {v:.1f} s" for k, v in hand.items()))

        started = time.monotonic()
        eod = eod_run_start(settlement_date=day, started_by="bench")
        eod = wait(eod.pk, args.timeout)
        seconds = time.monotonic() - started
        peaks = worker_peaks(workers)
    finally:
        sampler.stopped.set()
        os.unlink(path)
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(30)
    print(f"end of day {day}: {eod.status} in {seconds:.1f} s" + (f" ({eod.error})" if eod.error else ""))
    print(f"  {'stage':<15} {'chunks':>6} {'rows':>10} {'seconds':>8} {'worker MiB':>10}")
    by_stage = {}
    for view in eod_selectors.eod_stages(eod):
        child = view.child
        if child is None:
            print(f"  {view.name:<15} {view.status}")
            continue
        by_stage[view.name] = child.duration.total_seconds() if child.duration else 0.0
        peak = sampler.peak(child.started_at, child.finished_at) if child.started_at and child.finished_at else 0.0
        print(f"  {view.name:<15} {child.chunks_total:>6} {child.rows_affected:>10,} {by_stage[view.name]:>8.1f} "
              f"{peak:>10.0f}")
    for name, stage in (("netting", "netting"), ("settlement", "settlement"), ("posting", "posting")):
        if stage in by_stage and hand.get(name):
            print(f"  {name}: pipeline {by_stage[stage]:.1f} s against hand-written {hand[name]:.1f} s: "
                  f"{by_stage[stage] / hand[name]:.1f}x")
    print(f"peak RSS: this process {peak_rss_mib():.0f} MiB; workers "
          + ", ".join(f"{peak:.0f} MiB" for peak in peaks))


if __name__ == "__main__":
    main()
