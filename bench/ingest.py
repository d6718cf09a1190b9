#!/usr/bin/env python
"""Trade-ingest benchmark against a running server (see bench/README.md).

    python bench/ingest.py --url http://127.0.0.1:8000 --token <key> --bulk-trades 100000 \
        --single-trades 4000 --clients 8

Posts --bulk-trades trades in bulk requests of --batch (default 1,000), then --single-trades
trades one at a time from --clients concurrent clients, and prints trades per second and
p50/p99 latency for each. Accounts, counterparties, instruments and prices are read from the server
(load_demo data); every run uses fresh external_refs.

The trades are what a desk sends, so that the default compliance rules book them: prices within 2% of
the instrument's last price on or before the trade date, and sells only of what the account bought
earlier in the run (in a batch already answered, or earlier in the same batch), never short. Accounts
need the cash for their buys (run_ingest.sh deposits it). What the rules held or refused is counted
and printed all the same (rejected items by rule).
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
from bisect import bisect_right
from collections import Counter, defaultdict
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


class TradeMaker:
    """Realistic trades on the demo firm: near the last price, sells of what was bought earlier in the run.

    `lag`: a batch may sell what batches at least that many before it bought (with several bulk clients the
    batches just before may still be in flight, their buys not booked yet), and what its own earlier trades
    bought (pre-trade checks count a batch's earlier trades).
    """

    def __init__(self, refdata, prices, rng, lag):
        self.accounts, self.counterparties, self.instruments = refdata
        self.prices = prices  # ISIN -> ([dates], [prices]) in date order
        self.rng, self.lag = rng, lag
        self.held = defaultdict(int)  # (account, ISIN) -> shares the run bought and can sell
        self.bought = []  # per batch: [((account, ISIN), quantity)]

    def last_price(self, isin, day):
        days, values = self.prices[isin]
        at = bisect_right(days, day)
        return values[at - 1] if at else values[0]

    def batch(self, n, run_id, start, *, own_buys_count=True):
        rng, today = self.rng, date.today()
        if len(self.bought) >= self.lag:
            for key, quantity in self.bought[len(self.bought) - self.lag]:
                self.held[key] += quantity
        bought, trades = [], []
        for i in range(start, start + n):
            inst = rng.choice(self.instruments)
            trade_date = rng.choice(recent_sessions(inst["market"], today))
            account = rng.choice(self.accounts)
            key = (account, inst["isin"])
            quantity = rng.randint(1, 50) * 100
            side = "BUY"
            if self.held[key] >= 100 and rng.random() < 0.5:
                side, quantity = "SELL", min(quantity, self.held[key] // 100 * 100)
                self.held[key] -= quantity
            elif own_buys_count:
                bought.append((key, quantity))
            price = self.last_price(inst["isin"], trade_date.isoformat()) * rng.uniform(0.98, 1.02)
            trades.append({
                "external_ref": f"BENCH-{run_id}-{i}", "account": account,
                "counterparty": rng.choice(self.counterparties), "instrument": inst["isin"],
                "side": side, "quantity": str(quantity), "price": f"{price:.2f}", "currency": inst["currency"],
                "trade_date": trade_date.isoformat(), "commission": "1.50",
            })
        self.bought.append(bought)
        return trades


def fetch_prices(client, instruments):
    series = defaultdict(list)
    for row in client.get_all("/api/v1/prices/"):
        series[row["instrument"]].append((row["price_date"], float(row["price"])))
    prices = {}
    for isin, rows in series.items():
        rows.sort()
        prices[isin] = ([d for d, _ in rows], [p for _, p in rows])
    return prices


def rule_of(errors) -> str:
    """What refused an item: the rule code of its first compliance reason, else the field."""
    reasons = errors.get("compliance")
    if reasons:
        first = reasons[0]
        return first[1:first.index("]")] if first.startswith("[") else first.split(":")[0][:40]
    return ",".join(sorted(errors))


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


def bench_bulk(args, maker, run_id):
    batches = [maker.batch(min(args.batch, args.bulk_trades - i), f"{run_id}B", i)
               for i in range(0, args.bulk_trades, args.batch)]
    latencies, created, refused, lock = [], [0], Counter(), threading.Lock()
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
                refused.update(rule_of(r["errors"]) for r in body["results"] if r["status"] == "rejected")

    cpu = cpu_snapshot() if args.cpu else None
    start = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(args.bulk_clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - start
    total = sum(len(b) for b in batches)
    report(f"bulk ({args.batch}/request, {args.bulk_clients} client(s))", total, seconds, latencies)
    print(f"bulk: {created[0]} created (booked or held), {total - created[0]} rejected"
          + (f" ({', '.join(f'{k} {v}' for k, v in refused.most_common())})" if refused else ""))
    if cpu:
        report_cpu("bulk", total, cpu, cpu_snapshot(), seconds)


def bench_single(args, maker, run_id):
    trades = maker.batch(args.single_trades, f"{run_id}S", 0, own_buys_count=False)
    latencies, lock, errors, outcomes = [], threading.Lock(), [], Counter()
    chunks = [trades[i::args.clients] for i in range(args.clients)]

    def worker(chunk):
        client = Client(args.url, args.token)
        mine, seen = [], Counter()
        for trade in chunk:
            start = time.perf_counter()
            status, body = client.request("POST", "/api/v1/trades/", trade)
            mine.append((time.perf_counter() - start) * 1000)
            if status == 201:
                seen[body["status"]] += 1
            elif status == 400 and "compliance" in body:
                seen[f"rejected ({rule_of(body)})"] += 1
            else:
                errors.append(f"{status} {str(body)[:200]}")
        with lock:
            latencies.extend(mine)
            outcomes.update(seen)

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
    print("single: " + ", ".join(f"{k} {v}" for k, v in outcomes.most_common()))
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
    prices = fetch_prices(client, instruments)
    instruments = [i for i in instruments if i["isin"] in prices]
    if not instruments:
        raise SystemExit("no prices on the server: run `manage.py load_demo` first")
    maker = TradeMaker((accounts, counterparties, instruments), prices, random.Random(args.seed),
                       lag=2 * args.bulk_clients)
    run_id = uuid.uuid4().hex[:8]
    if args.bulk_trades:
        bench_bulk(args, maker, run_id)
    if args.single_trades:
        bench_single(args, maker, run_id)


if __name__ == "__main__":
    main()
