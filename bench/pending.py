#!/usr/bin/env python
"""The pending-settlement summary (records migration 0019): what the projection gains, what the trades pay for it.

    python bench/pending.py --database-url postgres://postgres@127.0.0.1:5432/bench_pending --trades 1000000

Creates (drops first) the database the URL names (refused unless its name starts with "bench"), migrates it, and:

1. Loads --trades trades with SQL (INSERT ... SELECT, 100,000 a statement, through every trigger of records_trade,
   as COPY would go): --instruments instruments (a few trade most), --accounts accounts, settlement dates over
   60 days; 1% FAILED, 0.1% partly settled, 0.1% HELD (on the last five dates), the rest SETTLED: about 11,000
   trades unsettled in a million, the mix of docs/scaling.md's "inventory page takes 626 ms". Then VACUUM ANALYZE.
2. The projection, --repeat times each, p50 and p95 in ms: `pending_settlements()` (the summary) against the
   query it replaced (the same aggregate over the trades, which reads the whole blotter: no index names status),
   for all accounts, one account, one instrument. Both must return the same rows.
3. What the triggers cost the trades' writers: in one transaction, rolled back, --batch new trades inserted in
   one INSERT ... SELECT (BOOKED, one fresh settlement date), the same number again in statements of 1,000 (the
   API's bulk batch), 1,000 more one a statement (the API's single trades), then netting's UPDATE of the first
   ones' status to CLEARED (the summary takes nothing) and settlement's UPDATE to SETTLED (every key they opened
   falls to zero and is deleted); each with the summary's triggers and without them (ALTER TABLE ... DISABLE
   TRIGGER, inside the transaction), alternating, --rounds rounds, the best of each. The other triggers (the
   booked buys, the posting backlog) run in both. With the summary's triggers it also reads the time PostgreSQL
   spent in the trigger function (track_functions, set for this session): the trigger's own cost, which the
   wall-clock difference shows only through the machine's noise.

Prints the load average: on a shared machine compare the two sides of a pair, not runs of different days.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--trades", type=int, default=1_000_000)
    parser.add_argument("--instruments", type=int, default=500)
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--batch", type=int, default=50_000, help="trades inserted and updated to price the triggers")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=20, help="runs of each projection query")
    parser.add_argument("--reuse", action="store_true", help="keep the database of the last run (steps 2 and 3 only)")
    args = parser.parse_args()
    if not args.database_url:
        raise SystemExit("--database-url (or DATABASE_URL) is required")
    name = urlparse(args.database_url).path.lstrip("/")
    if not name.startswith("bench"):
        raise SystemExit(f"refused: {name!r} does not start with 'bench'")
    return args, name


ARGS, NAME = _args()
os.environ["DATABASE_URL"] = ARGS.database_url
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings.base")

import psycopg  # noqa: E402


def fresh_database() -> None:
    admin_url = urlparse(ARGS.database_url)._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{NAME}"')
        admin.execute(f'CREATE DATABASE "{NAME}"')


if not ARGS.reuse:
    fresh_database()

import django  # noqa: E402

django.setup()

from common import TRADE_COLUMNS  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from stdnum import isin as stdnum_isin  # noqa: E402

from records.positions.projection import PENDING_STATUSES, pending_settlements  # noqa: E402
from records.reference.models import Account, Counterparty, Instrument, Market  # noqa: E402
from records.trades.models import Trade  # noqa: E402
from tests.records.test_pending_summary import pending_settlements_from_trades  # noqa: E402 - the old query

PREFIX = "BP"
LOAD_CHUNK = 100_000
FIRST_SETTLEMENT = "2031-01-06"
DAYS = 60
SUMMARY_TRIGGERS = ("records_pendingsettlement_insert", "records_pendingsettlement_update",
                    "records_pendingsettlement_delete")


def reference_data() -> tuple[list[int], list[int], int, int]:
    market = Market.objects.get(mic="XNAS")
    instruments = []
    for n in range(ARGS.instruments):
        body = f"US{PREFIX}{n:07d}"
        instruments.append(Instrument(isin=body + stdnum_isin.calc_check_digit(body), symbol=f"{PREFIX}-{n}",
                                      name=f"Bench instrument {n}", asset_class="EQUITY", currency="USD",
                                      market=market))
    Instrument.objects.bulk_create(instruments, ignore_conflicts=True)
    Account.objects.bulk_create([Account(code=f"{PREFIX}-ACC-{n}", name=f"Bench account {n}", kind="CLIENT",
                                         base_currency="USD") for n in range(ARGS.accounts)], ignore_conflicts=True)
    counterparty, _ = Counterparty.objects.get_or_create(code=f"{PREFIX}-BRKR", defaults={
        "name": "Bench broker", "lei": "5299009BENCH00000042", "requires_matching": False})
    user, _ = get_user_model().objects.get_or_create(username="bench-pending")
    account_ids = list(Account.objects.filter(code__startswith=f"{PREFIX}-ACC-").order_by("id")
                       .values_list("id", flat=True))
    instrument_ids = list(Instrument.objects.filter(symbol__startswith=f"{PREFIX}-").order_by("id")
                          .values_list("id", flat=True))
    return account_ids, instrument_ids, counterparty.pk, user.pk


# One trade per n: popular instruments trade most (the square of a uniform draw), accounts uniform; the status by
# n modulo 1000 (1% FAILED, 0.1% partly settled, 0.1% HELD, the rest SETTLED unless `status` says otherwise). The
# settled trades spread over every date; the others settle on the last five, as fails and partials are recent: the
# old query, walking the trades by settlement date, met every settled one before them.
TRADES_SQL = f"""
INSERT INTO records_trade ({', '.join(TRADE_COLUMNS)})
SELECT %(prefix)s || n, %(user)s, (%(accounts)s::bigint[])[1 + floor(random() * %(n_accounts)s)::int], %(cp)s,
       (%(instruments)s::bigint[])[1 + floor(random() ^ 2 * %(n_instruments)s)::int],
       CASE WHEN n %% 2 = 0 THEN 'BUY' ELSE 'SELL' END, q, p, 'USD', d - 1, d, 0, s, 'UNMATCHED', 1,
       CASE s WHEN 'SETTLED' THEN q WHEN 'PARTIALLY_SETTLED' THEN q / 2 ELSE 0 END,
       repeat('0', 64), '[]', now(), now()
FROM (SELECT n, (1 + n %% 2000)::numeric AS q, (5 + (n::bigint * 7919) %% 90000 / 100.0)::numeric(24, 8) AS p,
             COALESCE(%(day)s::date, %(first)s::date + CASE WHEN n %% 1000 <= 11 THEN {DAYS} - 1 - n %% 5
                                                            ELSE n %% {DAYS} END) AS d,
             COALESCE(%(status)s::text, CASE WHEN n %% 1000 < 10 THEN 'FAILED'
                                             WHEN n %% 1000 = 10 THEN 'PARTIALLY_SETTLED'
                                             WHEN n %% 1000 = 11 THEN 'HELD' ELSE 'SETTLED' END) AS s
      FROM generate_series(%(start)s::int, %(stop)s::int) AS n) AS t
"""  # noqa: S608 - the column names and the day count are this module's constants


def insert_trades(cursor, refs, *, start: int, stop: int, prefix: str = f"{PREFIX}-", day=None, status=None):
    accounts, instruments, cp, user = refs
    cursor.execute(TRADES_SQL, {"prefix": prefix, "user": user, "accounts": accounts, "n_accounts": len(accounts),
                                "cp": cp, "instruments": instruments, "n_instruments": len(instruments),
                                "first": FIRST_SETTLEMENT, "day": day, "status": status, "start": start,
                                "stop": stop})


def load(refs) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(0.42)")
        for start in range(0, ARGS.trades, LOAD_CHUNK):
            started = time.monotonic()
            insert_trades(cursor, refs, start=start, stop=min(start + LOAD_CHUNK, ARGS.trades) - 1)
            print(f"  loaded {min(start + LOAD_CHUNK, ARGS.trades):>9,} trades ({time.monotonic() - started:.1f} s)",
                  flush=True)
        cursor.execute("VACUUM ANALYZE records_trade")
        cursor.execute("VACUUM ANALYZE records_pendingsettlement")


def timed(call, **kwargs) -> tuple[list[float], list]:
    times, result = [], None
    for _ in range(ARGS.repeat):
        started = time.perf_counter()
        result = call(**kwargs)
        times.append((time.perf_counter() - started) * 1000)
    return times, result


def percentiles(times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"p50 {statistics.median(ordered):7.1f} ms  p95 {p95:7.1f} ms"


def projection() -> None:
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE records_pendingsettlement")  # the dead rows of a last run's rolled-back rounds
        cursor.execute("SELECT count(*), pg_size_pretty(pg_total_relation_size('records_pendingsettlement')) "
                       "FROM records_pendingsettlement")
        keys, size = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM records_trade WHERE status = ANY(%s) AND settled_quantity < quantity",
                       [list(PENDING_STATUSES)])
        (open_trades,) = cursor.fetchone()
    print(f"projection: {open_trades:,} trades unsettled of {Trade.objects.count():,}, {keys:,} keys in the summary "
          f"({size}); {ARGS.repeat} runs each, load average {os.getloadavg()[0]:.2f}")
    with connection.cursor() as cursor:  # the account with the most open trades; the most traded instrument
        cursor.execute("SELECT a.code FROM records_pendingsettlement p JOIN records_account a ON a.id = p.account_id "
                       "GROUP BY a.code ORDER BY sum(p.trades) DESC, a.code LIMIT 1")
        (account,) = cursor.fetchone()
    isin = Instrument.objects.filter(symbol__startswith=f"{PREFIX}-").order_by("id").first().isin
    for label, kwargs in (("all accounts", {}), (f"account {account}", {"account_code": account}),
                          (f"instrument {isin}", {"isin": isin})):
        before, old = timed(pending_settlements_from_trades, **kwargs)
        after, new = timed(pending_settlements, **kwargs)
        assert new == old, f"the summary and the trades disagree ({label})"
        print(f"  {label:<26} {len(new):>3} rows   trades: {percentiles(before)}   summary: {percentiles(after)}")


def day_open(cursor) -> None:
    """The projection while a day's bookings are open (inside the round's transaction, so read by this session)."""
    cursor.execute("ANALYZE records_pendingsettlement")
    cursor.execute("SELECT count(*), sum(trades) FROM records_pendingsettlement")
    keys, open_trades = cursor.fetchone()
    before, old = timed(pending_settlements_from_trades)
    after, new = timed(pending_settlements)
    assert new == old, "the summary and the trades disagree (bookings open)"
    print(f"  projection with {open_trades:,} trades open ({keys:,} keys), all accounts: trades: {percentiles(before)}"
          f"   summary: {percentiles(after)}", flush=True)


# Milliseconds this transaction spent in the summary's trigger function (track_functions = 'pl').
IN_TRIGGER = ("SELECT COALESCE(sum(total_time), 0) FROM pg_stat_xact_user_functions "
              "WHERE funcname = 'records_pendingsettlement_apply'")


def trigger_cost(refs) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET track_functions = 'pl'")
    print(f"trigger cost: {ARGS.batch:,} trades, best of {ARGS.rounds} rounds, load average "
          f"{os.getloadavg()[0]:.2f}")
    singles = min(1000, ARGS.batch)
    steps = {"INSERT ... SELECT, one statement": ARGS.batch, "INSERT, statements of 1,000": ARGS.batch,
             f"INSERT, one a statement ({singles:,})": singles, "UPDATE status to CLEARED (netting)": ARGS.batch,
             "UPDATE to SETTLED (settlement)": ARGS.batch}
    best: dict[tuple[str, bool], float] = {}
    keys = 0
    for round_ in range(ARGS.rounds):
        for with_summary in (True, False) if round_ % 2 == 0 else (False, True):
            with transaction.atomic(), connection.cursor() as cursor:
                if not with_summary:
                    for trigger in SUMMARY_TRIGGERS:
                        cursor.execute(f"ALTER TABLE records_trade DISABLE TRIGGER {trigger}")
                cursor.execute("SELECT count(*) FROM records_pendingsettlement")
                (keys_before,) = cursor.fetchone()
                seconds, in_trigger = [], []

                def step(statements, cursor=cursor, seconds=seconds, in_trigger=in_trigger):
                    cursor.execute(IN_TRIGGER)
                    (was,) = cursor.fetchone()
                    started = time.perf_counter()
                    statements()
                    seconds.append(time.perf_counter() - started)
                    cursor.execute(IN_TRIGGER)
                    in_trigger.append((cursor.fetchone()[0] - was) / 1000)

                step(lambda: insert_trades(cursor, refs, start=0, stop=ARGS.batch - 1, prefix="BPX-",
                                           day="2031-06-02", status="BOOKED"))
                cursor.execute("SELECT count(*) FROM records_pendingsettlement")
                keys = cursor.fetchone()[0] - keys_before if with_summary else keys
                step(lambda: [insert_trades(cursor, refs, start=start, stop=min(start + 1000, ARGS.batch) - 1,
                                            prefix="BPY-", day="2031-06-03", status="BOOKED")
                              for start in range(0, ARGS.batch, 1000)])
                step(lambda: [insert_trades(cursor, refs, start=n, stop=n, prefix="BPZ-", day="2031-06-04",
                                            status="BOOKED") for n in range(singles)])
                if with_summary and round_ == 0:
                    day_open(cursor)
                step(lambda: cursor.execute("UPDATE records_trade SET status = 'CLEARED' "
                                            "WHERE settlement_date = '2031-06-02' AND status = 'BOOKED'"))
                step(lambda: cursor.execute("UPDATE records_trade SET status = 'SETTLED', settled_quantity = quantity "
                                            "WHERE settlement_date = '2031-06-02' AND status = 'CLEARED'"))
                transaction.set_rollback(True)
            print(f"  round {round_ + 1} {'with' if with_summary else 'without':>7}: "
                  + "  ".join(f"{s:6.2f} s" for s in seconds)
                  + ("   in the trigger: " + "  ".join(f"{s:5.2f} s" for s in in_trigger) if with_summary else ""),
                  flush=True)
            for name, s, t in zip(steps, seconds, in_trigger, strict=True):
                best[name, with_summary] = min(best.get((name, with_summary), s), s)
                if with_summary:
                    best[name, "trigger"] = min(best.get((name, "trigger"), t), t)
    print(f"  ({keys:,} keys opened in the summary by the one-statement insert)")
    for name in steps:
        with_, without, trigger = best[name, True], best[name, False], best[name, "trigger"]
        print(f"  {name:<36} with {with_:6.2f} s  without {without:6.2f} s  difference {with_ - without:+6.2f} s   "
              f"in the trigger {trigger:5.2f} s = {trigger / steps[name] * 1e6:5.1f} µs a trade")


def main() -> None:
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    if not ARGS.reuse:
        call_command("migrate", verbosity=0)
    refs = reference_data()
    if not ARGS.reuse:
        started = time.monotonic()
        load(refs)
        print(f"loaded {ARGS.trades:,} trades in {time.monotonic() - started:.1f} s")
    projection()
    trigger_cost(refs)


if __name__ == "__main__":
    main()
