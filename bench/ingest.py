#!/usr/bin/env python
"""Trade-ingest benchmark against a running server (see bench/README.md).

    python bench/ingest.py --url http://127.0.0.1:8000 --token <key> --bulk-trades 100000 \
        --single-trades 4000 --clients 8

Posts --bulk-trades trades in bulk requests of --batch (default 1,000), then --single-trades
trades one at a time from --clients concurrent clients, and prints trades per second and
p50/p99 latency for each. Accounts, counterparties and instruments are read from the server
(load_demo data); every run uses fresh external_refs.
"""

import argparse
import functools
import http.client
import json
import os
import random
import resource
import statistics
import threading
import time
import urllib.parse
import uuid
from datetime import date, timedelta


class Client:
    """One keep-alive HTTP connection with the token header."""

    def __init__(self, url: str, token: str):
        parts = urllib.parse.urlsplit(url)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=300)
        self.headers = {"Authorization": f"Token {token}", "Content-Type": "application/json",
                        "Accept": "application/json"}

    def request(self, method: str, path: str, body=None):
        payload = json.dumps(body).encode() if body is not None else None
        self.conn.request(method, path, body=payload, headers=self.headers)
        response = self.conn.getresponse()
        data = response.read()
        return response.status, (json.loads(data) if data else None)

    def get_all(self, path: str) -> list:
        rows, page = [], f"{path}{'&' if '?' in path else '?'}page_size=1000"
        while page:
            status, body = self.request("GET", page)
            if status != 200:
                raise SystemExit(f"GET {page}: {status} {body}")
            rows += body["results"]
            page = body["next"] and urllib.parse.urlsplit(body["next"])._replace(scheme="", netloc="").geturl()
        return rows


def percentile(values, pct):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


@functools.cache
def recent_sessions(mic: str, today: date) -> tuple[date, ...]:
    """The market's trading sessions among the ten days before today (a holiday like Thanksgiving is
    not one: trade capture refuses a trade dated on it)."""
    import exchange_calendars

    calendar = exchange_calendars.get_calendar(mic)
    days = [today - timedelta(days=n) for n in range(1, 11)]
    return tuple(day for day in days if calendar.is_session(day.isoformat()))


def make_trades(n, refdata, run_id, rng):
    accounts, counterparties, instruments = refdata
    today = date.today()
    trades = []
    for i in range(n):
        inst = rng.choice(instruments)
        trade_date = rng.choice(recent_sessions(inst["market"], today))
        trades.append({
            "external_ref": f"BENCH-{run_id}-{i}", "account": rng.choice(accounts),
            "counterparty": rng.choice(counterparties), "instrument": inst["isin"],
            "side": rng.choice(["BUY", "SELL"]), "quantity": str(rng.randint(1, 50) * 100),
            "price": f"{rng.uniform(10, 500):.2f}", "currency": inst["currency"],
            "trade_date": trade_date.isoformat(), "commission": "1.50",
        })
    return trades


def cpu_snapshot() -> dict[str, float]:
    """CPU seconds so far of the processes on this machine: gunicorn, PostgreSQL, this load generator.

    Linux /proc; the server must run on this machine. Processes that start and end between two
    snapshots are not seen (gunicorn workers and PostgreSQL backends with persistent connections live on).
    """
    ticks = os.sysconf("SC_CLK_TCK")
    totals = {"gunicorn": 0.0, "postgres": 0.0}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        kind = "gunicorn" if "gunicorn" in cmdline else "postgres" if cmdline.startswith("postgres") else None
        if kind:
            totals[kind] += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    own = resource.getrusage(resource.RUSAGE_SELF)
    totals["load generator"] = own.ru_utime + own.ru_stime
    return totals


def report_cpu(label, trades, before, after, seconds):
    used = {k: after[k] - before[k] for k in after}
    parts = ", ".join(f"{k} {v:.2f} s ({v / trades * 1e6:,.0f} µs/trade)" for k, v in used.items())
    print(f"{label} CPU: {parts}; {sum(used.values()) / seconds:.2f} of {os.cpu_count()} cores busy")


def report(label, trades, seconds, latencies_ms):
    print(f"{label}: {trades} trades in {seconds:.2f} s = {trades / seconds:,.0f} trades/s; "
          f"request latency p50 {statistics.median(latencies_ms):.1f} ms, p99 {percentile(latencies_ms, 99):.1f} ms "
          f"({len(latencies_ms)} requests)")


def bench_bulk(args, refdata, run_id, rng):
    trades = make_trades(args.bulk_trades, refdata, f"{run_id}B", rng)
    batches = [trades[i:i + args.batch] for i in range(0, len(trades), args.batch)]
    latencies, created, lock = [], [0], threading.Lock()
    queue = list(reversed(batches))

    def worker():
        client = Client(args.url, args.token)
        while True:
            with lock:
                if not queue:
                    return
                batch = queue.pop()
            start = time.perf_counter()
            status, body = client.request("POST", "/api/v1/trades/bulk/", {"trades": batch})
            elapsed = (time.perf_counter() - start) * 1000
            if status != 200:
                raise SystemExit(f"bulk: {status} {str(body)[:300]}")
            with lock:
                latencies.append(elapsed)
                created[0] += body["created"]

    cpu = cpu_snapshot() if args.cpu else None
    start = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(args.bulk_clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - start
    if created[0] != len(trades):
        raise SystemExit(f"bulk: only {created[0]} of {len(trades)} created")
    report(f"bulk ({args.batch}/request, {args.bulk_clients} client(s))", len(trades), seconds, latencies)
    if cpu:
        report_cpu("bulk", len(trades), cpu, cpu_snapshot(), seconds)


def bench_single(args, refdata, run_id, rng):
    trades = make_trades(args.single_trades, refdata, f"{run_id}S", rng)
    latencies, lock, errors = [], threading.Lock(), []
    chunks = [trades[i::args.clients] for i in range(args.clients)]

    def worker(chunk):
        client = Client(args.url, args.token)
        mine = []
        for trade in chunk:
            start = time.perf_counter()
            status, body = client.request("POST", "/api/v1/trades/", trade)
            mine.append((time.perf_counter() - start) * 1000)
            if status != 201:
                errors.append(f"{status} {str(body)[:200]}")
        with lock:
            latencies.extend(mine)

    cpu = cpu_snapshot() if args.cpu else None
    start = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(c,)) for c in chunks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - start
    if errors:
        raise SystemExit(f"single: {len(errors)} errors, first: {errors[0]}")
    report(f"single ({args.clients} concurrent clients)", len(trades), seconds, latencies)
    if cpu:
        report_cpu("single", len(trades), cpu, cpu_snapshot(), seconds)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--token", required=True)
    parser.add_argument("--bulk-trades", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--bulk-clients", type=int, default=1)
    parser.add_argument("--single-trades", type=int, default=4000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cpu", action="store_true",
                        help="also print the CPU time gunicorn, PostgreSQL and this script used per phase "
                             "(Linux, server on this machine)")
    args = parser.parse_args()

    client = Client(args.url, args.token)
    accounts = [a["code"] for a in client.get_all("/api/v1/accounts/?status=ACTIVE")]
    counterparties = [c["code"] for c in client.get_all("/api/v1/counterparties/")]
    instruments = [i for i in client.get_all("/api/v1/instruments/") if i["is_active"]]
    if not (accounts and counterparties and instruments):
        raise SystemExit("no reference data on the server: run `manage.py load_demo` first")
    refdata = (accounts, counterparties, instruments)
    rng = random.Random(args.seed)
    run_id = uuid.uuid4().hex[:8]
    if args.bulk_trades:
        bench_bulk(args, refdata, run_id, rng)
    if args.single_trades:
        bench_single(args, refdata, run_id, rng)


if __name__ == "__main__":
    main()
