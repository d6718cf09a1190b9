#!/usr/bin/env python
"""Netting a million trades: the clearing run against one hand-written INSERT ... SELECT ... GROUP BY.

    createdb -h 127.0.0.1 -U postgres bench_netting
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_netting
    python manage.py migrate
    python bench/netting.py --trades 1000000

1. Reference data of its own (reused on a rerun): --instruments instruments on XNAS (popularity
   skewed, as real flow is), --accounts accounts, a CCP with three members clearing through it
   (locked-in, no matching) and two bilateral brokers, one locked-in, one whose trades are matched.
2. --trades trades for one settlement date with none yet (a fresh date each run, so a rerun needs no
   cleanup), loaded with COPY: BOOKED, matched or with a counterparty that needs no matching, so
   every one is eligible. Then ANALYZE, as autovacuum would.
3. The hand-written statement, timed: one INSERT INTO a scratch table SELECT ... GROUP BY of the
   same trades by (account, settlement counterparty, instrument, date, currency), with the same
   sums, committed.
4. The clearing run, timed, in a child process (so that its peak RSS is the worker's alone, not the
   loader's): clearing_run_create + job_run_execute, the job framework in-process, chunk by chunk
   (--per-chunk trades a chunk), exactly what a worker does. The child reports where the time went:
   the netting statement (UPDATE trades, INSERT obligations, links, events), building the audit
   records in Python (hash per record), copying them, and the rest (commits with their deferred
   foreign-key checks, the job's bookkeeping, the summary).

Prints seconds and trades/s of both, their ratio, the obligations (and that both found the same
ones, with the same sums), and the worker's peak RSS (its own VmHWM).
"""

import argparse
import json
import os
import random
import subprocess
import sys
import time
from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings.base")

import django

django.setup()

import workers  # noqa: E402
from common import TRADE_COLUMNS, fresh_settlement_date, lei, peak_rss_mib  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402
from stdnum import isin as stdnum_isin  # noqa: E402

from records.reference.models import Account, Counterparty, Instrument, Market  # noqa: E402

PREFIX = "BN"
BENCH_USER = "bench-netting"
LEI_STEM = "5299009BENCH"  # the counterparties' LEIs: the stem, six digits, check digits
FIRST_DATE = date(2031, 1, 6)  # far from any real trade; each run takes the next date with no trades
SCRATCH = "bench_netting_scratch"


# --- reference data and trades -----------------------------------------------------------------

def reference_data(instruments: int, accounts: int):
    """Return (account ids, [(counterparty id, matched)], instrument ids), created the first time."""
    market = Market.objects.get(mic="XNAS")
    have = {i.isin for i in Instrument.objects.filter(symbol__startswith=f"{PREFIX}-")}
    new = []
    for n in range(instruments):
        body = f"US{PREFIX}{n:07d}"
        isin = body + stdnum_isin.calc_check_digit(body)
        if isin not in have:
            new.append(Instrument(isin=isin, symbol=f"{PREFIX}-{n}", name=f"Bench instrument {n}", asset_class="EQUITY",
                                  currency="USD", market=market))
    Instrument.objects.bulk_create(new)
    Account.objects.bulk_create([Account(code=f"{PREFIX}-ACC-{n}", name=f"Bench account {n}", kind="CLIENT",
                                         base_currency="USD") for n in range(accounts)], ignore_conflicts=True)
    ccp, _ = Counterparty.objects.get_or_create(code=f"{PREFIX}-CCP", defaults={
        "name": "Bench CCP", "lei": lei(LEI_STEM, 0), "is_ccp": True, "requires_matching": False})
    counterparties = [(ccp.pk, False)]
    for n in range(1, 4):  # exchange members: locked-in trades through the CCP
        member, _ = Counterparty.objects.get_or_create(code=f"{PREFIX}-MBR-{n}", defaults={
            "name": f"Bench member {n}", "lei": lei(LEI_STEM, n), "clears_through": ccp, "requires_matching": False})
        counterparties.append((member.pk, False))
    locked, _ = Counterparty.objects.get_or_create(code=f"{PREFIX}-BIL-1", defaults={
        "name": "Bench bilateral, locked-in", "lei": lei(LEI_STEM, 10), "requires_matching": False})
    matched, _ = Counterparty.objects.get_or_create(code=f"{PREFIX}-BIL-2", defaults={
        "name": "Bench bilateral, matched", "lei": lei(LEI_STEM, 11), "requires_matching": True})
    counterparties += [(locked.pk, False), (matched.pk, True)]
    account_ids = list(Account.objects.filter(code__startswith=f"{PREFIX}-ACC-").order_by("id")
                       .values_list("id", flat=True))[:accounts]
    instrument_ids = list(Instrument.objects.filter(symbol__startswith=f"{PREFIX}-").order_by("id")
                          .values_list("id", flat=True))[:instruments]
    return account_ids, counterparties, instrument_ids




def load_trades(count: int, day: date, accounts, counterparties, instruments, *, seed: int) -> None:
    """COPY `count` BOOKED trades settling on day (traded the day before): every one eligible for netting."""
    user, _ = get_user_model().objects.get_or_create(username=BENCH_USER)
    rng = random.Random(seed)
    weights = [1 / (rank + 1) ** 0.8 for rank in range(len(instruments))]  # a few instruments trade most
    picked_instruments = rng.choices(instruments, weights=weights, k=count)
    stamp = timezone.now().isoformat()
    trade_date = (day - timedelta(days=1)).isoformat()
    settles = day.isoformat()
    request_hash = "0" * 64
    prices = [f"{rng.randint(500, 90000) / 100:.2f}" for _ in range(4096)]
    quantities = [str(rng.randint(1, 2000)) for _ in range(4096)] + ["12.5", "0.75", "1000.000001"]
    with transaction.atomic(), connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY records_trade ({', '.join(TRADE_COLUMNS)}) FROM STDIN") as copy:
            for n in range(count):
                counterparty, needs_match = counterparties[n % len(counterparties)]
                copy.write_row((f"{PREFIX}-{settles}-{n}", user.pk, accounts[rng.randrange(len(accounts))],
                                counterparty, picked_instruments[n], "BUY" if rng.random() < 0.5 else "SELL",
                                quantities[n % len(quantities)], prices[rng.randrange(4096)], "USD", trade_date,
                                settles, "0", "BOOKED", "MATCHED" if needs_match else "UNMATCHED", 1, "0",
                                request_hash, "[]", stamp, stamp))
        cursor.execute("ANALYZE records_trade")


# --- the two ways of netting ---------------------------------------------------------------------

HAND_WRITTEN = """
INSERT INTO bench_netting_scratch (account_id, counterparty_id, instrument_id, settlement_date, currency,
                                   net_quantity, net_cash, trade_count, buy_quantity, sell_quantity, buy_value,
                                   sell_value)
SELECT t.account_id, COALESCE(c.clears_through_id, c.id), t.instrument_id, t.settlement_date, t.currency,
       sum(CASE WHEN t.side = 'BUY' THEN t.quantity ELSE -t.quantity END),
       sum(CASE WHEN t.side = 'SELL' THEN t.quantity * t.price ELSE -t.quantity * t.price END),
       count(*),
       COALESCE(sum(t.quantity) FILTER (WHERE t.side = 'BUY'), 0),
       COALESCE(sum(t.quantity) FILTER (WHERE t.side = 'SELL'), 0),
       COALESCE(sum(t.quantity * t.price) FILTER (WHERE t.side = 'BUY'), 0),
       COALESCE(sum(t.quantity * t.price) FILTER (WHERE t.side = 'SELL'), 0)
FROM records_trade t JOIN records_counterparty c ON c.id = t.counterparty_id
WHERE t.settlement_date = %s AND t.status = 'BOOKED' AND (NOT c.requires_matching OR t.match_status = 'MATCHED')
GROUP BY t.account_id, COALESCE(c.clears_through_id, c.id), t.instrument_id, t.settlement_date, t.currency
"""


def hand_written(day: date) -> tuple[float, int]:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {SCRATCH}")
        cursor.execute(f"CREATE TABLE {SCRATCH} (account_id bigint, counterparty_id bigint, instrument_id bigint, "
                       "settlement_date date, currency varchar(3), net_quantity numeric(24, 6), "
                       "net_cash numeric(24, 4), trade_count integer, buy_quantity numeric(24, 6), "
                       "sell_quantity numeric(24, 6), buy_value numeric(24, 4), sell_value numeric(24, 4))")
    started = time.monotonic()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(HAND_WRITTEN, [day])
        rows = cursor.rowcount
    return time.monotonic() - started, rows


@transaction.atomic
def create_run(day: date, per_chunk: int):
    """A QUEUED clearing run of day, its chunks cut per_chunk trades each."""
    from backoffice.core.jobs.models import JobRun
    from clearing.netting import services as netting

    run = netting.clearing_run_create(settlement_date=day, started_by="command:bench")
    JobRun.objects.filter(pk=run.job_id).update(parameters=netting.netting_parameters(
        {"settlement_date": day.isoformat(), "trades_per_chunk": per_chunk}))
    return run


def net_in_this_process(day: date, per_chunk: int) -> dict:
    """The child: a clearing run of day through the job framework, timed by part; its peak RSS."""
    from backoffice.core.jobs.models import JobChunk
    from backoffice.core.jobs.services import job_run_execute
    from clearing.models import ClearingRun
    from clearing.netting import jobs
    from clearing.netting import services as netting
    from records.audit.services import audit

    rss_before = peak_rss_mib()
    spent = {"statement": 0.0, "audit_rows": 0.0, "audit_total": 0.0, "foreign_keys": 0.0, "summary": 0.0,
             "create": 0.0}

    def timed_statements(execute, sql, params, many, context):
        started = time.monotonic()
        try:
            return execute(sql, params, many, context)
        finally:
            if "WITH moved AS" in sql:
                spent["statement"] += time.monotonic() - started

    def timing(name, function):
        def timed(**kwargs):
            started = time.monotonic()
            try:
                return function(**kwargs)
            finally:
                spent[name] += time.monotonic() - started
        return timed

    real_net = jobs.clearing_run_net

    def net_and_check_keys(**kwargs):
        outcome = real_net(**kwargs)
        # The chunk's deferred foreign keys, checked now rather than by its commit: to time them.
        started = time.monotonic()
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        spent["foreign_keys"] += time.monotonic() - started
        return outcome

    audit.audit_rows = timing("audit_rows", audit.audit_rows)
    netting.audit_log_bulk = timing("audit_total", netting.audit_log_bulk)
    jobs.clearing_run_net = net_and_check_keys
    jobs.clearing_run_summarize = timing("summary", jobs.clearing_run_summarize)
    started = time.monotonic()
    with connection.execute_wrapper(timed_statements):
        run = create_run(day, per_chunk)
        spent["create"] = time.monotonic() - started
        job = job_run_execute(job_id=run.job_id)
    seconds = time.monotonic() - started
    run = ClearingRun.objects.get(pk=run.pk)
    # A chunk's row is written as it begins (JobChunk.done_at): a net chunk lasts until the next one begins.
    begun = list(JobChunk.objects.filter(job=job).order_by("done_at").values_list("done_at", flat=True))
    chunk_seconds = [round((b - a).total_seconds(), 2) for a, b in pairwise(begun)]
    return {"seconds": seconds, "status": job.status, "error": job.error, "chunks": job.chunks_total,
            "trades": run.trades_netted, "obligations": run.obligations_created, "run": run.pk,
            **spent, "audit_copy": spent["audit_total"] - spent["audit_rows"], "chunk_seconds": chunk_seconds,
            "rss_before": rss_before, "peak_rss": peak_rss_mib()}


def update_floor(day: date) -> float:
    """Time the least any netting must do to the trades (UPDATE their status), roll it back, vacuum the dead rows."""
    class Undo(Exception):
        pass

    started = time.monotonic()
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("UPDATE records_trade SET status = 'CLEARED', updated_at = now() "
                           "WHERE settlement_date = %s AND status = 'BOOKED'", [day])
            seconds = time.monotonic() - started
            raise Undo
    except Undo:
        pass
    with connection.cursor() as cursor:
        cursor.execute("VACUUM records_trade")
    return seconds


def same_obligations(run_id: int) -> bool:
    """Whether the run's obligations are the hand-written statement's rows, key by key and sum by sum."""
    columns = ("account_id, counterparty_id, instrument_id, settlement_date, currency, net_quantity, net_cash, "
               "trade_count, buy_quantity, sell_quantity, buy_value, sell_value")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM ((SELECT {columns} FROM clearing_obligation WHERE run_id = %s) "  # noqa: S608
                       f"EXCEPT ALL (SELECT {columns} FROM {SCRATCH})) AS missing", [run_id])
        extra = cursor.fetchone()[0]
        cursor.execute(f"SELECT count(*) FROM ((SELECT {columns} FROM {SCRATCH}) EXCEPT ALL "  # noqa: S608
                       f"(SELECT {columns} FROM clearing_obligation WHERE run_id = %s)) AS missing", [run_id])
        return extra == 0 and cursor.fetchone()[0] == 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trades", type=int, default=1_000_000, help="trades to net (default 1,000,000)")
    parser.add_argument("--instruments", type=int, default=500)
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--per-chunk", type=int, default=50_000, help="trades per chunk of the run (default 50,000)")
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--load-only", action="store_true", help="load the trades and stop (to profile by hand)")
    parser.add_argument("--no-floor", action="store_true", help="skip timing the bare UPDATE of the trades")
    parser.add_argument("--workers", type=int, default=1,
                        help="worker processes sharing the run (default 1: one, timed by part)")
    parser.add_argument("--net-only", help=argparse.SUPPRESS)  # the child: net this date, print JSON
    parser.add_argument("--join", type=int, help=argparse.SUPPRESS)  # a child of --workers: run this job
    args = parser.parse_args()

    if args.join:
        workers.join(args.join)
        return
    if args.net_only:
        print(json.dumps(net_in_this_process(date.fromisoformat(args.net_only), args.per_chunk)))
        return

    print(f"database: {connection.settings_dict['NAME']}")
    accounts, counterparties, instruments = reference_data(args.instruments, args.accounts)
    day = fresh_settlement_date(FIRST_DATE)
    started = time.monotonic()
    load_trades(args.trades, day, accounts, counterparties, instruments, seed=args.seed)
    print(f"loaded {args.trades:,} trades settling {day} with COPY in {time.monotonic() - started:.1f} s "
          f"({len(accounts)} accounts, {len(counterparties)} counterparties, {len(instruments)} instruments)")

    if args.load_only:
        return
    hand_seconds, groups = hand_written(day)
    print(f"hand-written INSERT ... SELECT ... GROUP BY: {hand_seconds:7.2f} s  "
          f"{args.trades / hand_seconds:>10,.0f} trades/s  {groups:,} groups")
    if not args.no_floor:
        floor = update_floor(day)
        print(f"hand-written UPDATE of the trades' status alone (rolled back, then VACUUM): {floor:7.2f} s  "
              f"{args.trades / floor:>10,.0f} trades/s")

    if args.workers > 1:
        job_id = create_run(day, args.per_chunk).job_id
        seconds, peaks = workers.run_in_workers(__file__, job_id, args.workers)
        from clearing.models import ClearingRun

        run = ClearingRun.objects.get(job_id=job_id)
        print(f"clearing run (job framework, {args.workers} worker processes): {seconds:7.2f} s  "
              f"{run.trades_netted / seconds:>10,.0f} trades/s  {run.obligations_created:,} obligations")
        print(f"ratio clearing run / hand-written GROUP BY: {seconds / hand_seconds:.2f}")
        print(f"obligations {run.obligations_created:,}, hand-written groups {groups:,}, same keys and sums: "
              f"{'yes' if same_obligations(run.pk) else 'NO'}")
        print(f"workers' peak RSS: {', '.join(f'{peak:.1f}' for peak in peaks)} MiB")
        assert run.trades_netted == args.trades, run
        return
    child = subprocess.run([sys.executable, __file__, "--net-only", day.isoformat(), "--per-chunk",
                            str(args.per_chunk)], capture_output=True, text=True, env=os.environ, check=False)
    if child.returncode != 0:
        sys.exit(f"the clearing run failed:\n{child.stderr}")
    run = json.loads(child.stdout.strip().splitlines()[-1])
    if run["status"] != "COMPLETED":
        sys.exit(f"the clearing run {run['run']} is {run['status']}: {run['error']}")
    seconds = run["seconds"]
    parts = ("create", "statement", "audit_rows", "audit_copy", "foreign_keys", "summary")
    other = seconds - sum(run[part] for part in parts)
    print(f"clearing run (job framework, {run['chunks']} chunks): {seconds:7.2f} s  "
          f"{run['trades'] / seconds:>10,.0f} trades/s  {run['obligations']:,} obligations")
    print(f"  creating the run (validation, counting trades per instrument for the chunks): {run['create']:7.2f} s")
    print(f"  netting statements (UPDATE trades, INSERT obligations, links, events): {run['statement']:7.2f} s")
    print(f"  audit records built in Python ({run['trades'] + run['obligations']:,}, hashed): "
          f"{run['audit_rows']:7.2f} s")
    print(f"  audit records copied: {run['audit_copy']:7.2f} s")
    print(f"  deferred foreign-key checks of the chunks' rows: {run['foreign_keys']:7.2f} s")
    print(f"  summary step: {run['summary']:7.2f} s")
    print(f"  the rest (commits, the job's bookkeeping): {other:7.2f} s")
    print(f"  seconds per net chunk: {' '.join(str(s) for s in run['chunk_seconds'])}")
    print(f"ratio clearing run / hand-written GROUP BY: {seconds / hand_seconds:.2f}"
          + ("" if args.no_floor else f"; / hand-written UPDATE: {seconds / floor:.2f}"))
    print(f"obligations {run['obligations']:,}, hand-written groups {groups:,}, same keys and sums: "
          f"{'yes' if same_obligations(run['run']) else 'NO'}")
    print(f"worker peak RSS: {run['peak_rss']:.1f} MiB (after django.setup: {run['rss_before']:.1f} MiB)")
    assert run["trades"] == args.trades, run


if __name__ == "__main__":
    main()
