#!/usr/bin/env python
"""Memory of the streamed trade-blotter export: flat, whatever the row count.

    createdb -h 127.0.0.1 -U postgres bench_export
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_export
    python manage.py migrate && python manage.py load_demo
    python bench/export_memory.py --rows 1000000

Makes sure the database holds --rows benchmark trades (one INSERT ... SELECT generate_series;
foreign keys to the load_demo accounts, counterparties and
instruments; reused on a rerun), then streams the blotter export of their whole date range to
/dev/null three times:

1. a small range first (about 1% of the rows), to show the baseline;
2. the whole range, timed: rows, seconds, rows per second, and the process's peak RSS
   (resource.getrusage ru_maxrss) before and after: flat memory means the peak barely moves;
3. the whole range again under tracemalloc: the peak of Python allocations while streaming.

--via-api streams through the API view (GET /api/v1/records/exports/trades.csv) instead of
calling the service directly.
"""

import argparse
import os
import resource
import sys
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings.base")

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from records.exports import services as exports  # noqa: E402
from records.reference.models import Account, Counterparty, Instrument  # noqa: E402
from records.trades.models import Trade  # noqa: E402

PREFIX = "BENCH-EXP-"
DAYS = 300  # trade dates spread over this many days (an export range holds at most 366)
BENCH_USER = "bench-export"


def peak_rss_mib() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def reference_ids():
    accounts = list(Account.objects.filter(status=Account.Status.ACTIVE).order_by("id").values_list("id", flat=True))
    counterparties = list(Counterparty.objects.order_by("id").values_list("id", flat=True))
    instruments = list(Instrument.objects.order_by("id").values_list("id", "currency"))
    if not (accounts and counterparties and instruments):
        raise SystemExit("No reference data: run `python manage.py load_demo` against this database first.")
    return accounts, counterparties, instruments


COLUMNS = ("external_ref, submitted_by_id, account_id, counterparty_id, instrument_id, side, quantity, price, "
           "currency, trade_date, settlement_date, commission, status, match_status, version, settled_quantity, "
           "request_hash, hold_reasons, created_at, updated_at")


def insert_trades(first: int, last: int, start, user_id: int) -> None:
    """Insert trades number first..last in one statement, spread over DAYS days from start."""
    accounts, counterparties, instruments = reference_ids()
    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"""
            INSERT INTO records_trade ({COLUMNS})
            SELECT %(prefix)s || g, %(user)s,
                   (%(accounts)s::bigint[])[1 + g %% %(n_accounts)s],
                   (%(counterparties)s::bigint[])[1 + g %% %(n_counterparties)s],
                   (%(instruments)s::bigint[])[1 + g %% %(n_instruments)s],
                   CASE WHEN g %% 2 = 0 THEN 'BUY' ELSE 'SELL' END,
                   1 + g %% 1000, 10 + (g %% 50000) / 100.0,
                   (%(currencies)s::text[])[1 + g %% %(n_instruments)s],
                   %(start)s::date + (g %% %(days)s)::int, %(start)s::date + (g %% %(days)s)::int + 2,
                   (g %% 500) / 100.0, 'SETTLED', 'MATCHED', 1, 1 + g %% 1000, repeat('0', 64), '[]'::jsonb,
                   %(now)s, %(now)s
            FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS g
        """, {"prefix": PREFIX, "user": user_id, "accounts": accounts, "n_accounts": len(accounts),  # noqa: S608
              "counterparties": counterparties, "n_counterparties": len(counterparties),
              "instruments": [i for i, _ in instruments], "currencies": [c for _, c in instruments],
              "n_instruments": len(instruments), "start": start, "days": DAYS, "now": now, "first": first,
              "last": last})


def ensure_trades(rows: int):
    """Return the first trade date of the benchmark trades, inserting the missing ones."""
    user, _ = get_user_model().objects.get_or_create(username=BENCH_USER)
    start = timezone.localdate() - timedelta(days=DAYS + 1)
    have = Trade.objects.filter(submitted_by=user).count()
    if have < rows:
        print(f"inserting {rows - have:,} trades ({have:,} there already) ...", flush=True)
        started = time.monotonic()
        insert_trades(have + 1, rows, start, user.pk)
        print(f"  inserted in {time.monotonic() - started:.1f} s", flush=True)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE records_trade")
    elif have > rows:
        print(f"note: {have:,} benchmark trades present, more than --rows; the export streams them all")
    return start


def stream(date_from, date_to, *, via_api: bool) -> int:
    """Stream the blotter export of the range to /dev/null; return the rows written."""
    lines = 0
    with open(os.devnull, "w") as sink:
        for block in _blocks(date_from, date_to, via_api=via_api):
            text = block.decode() if isinstance(block, bytes) else block
            lines += text.count("\r\n")
            sink.write(text)
    return lines - 1  # the header


def _blocks(date_from, date_to, *, via_api: bool):
    if not via_api:
        return exports.export_csv("trades", date_from=date_from, date_to=date_to)
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(get_user_model().objects.filter(is_superuser=True).first()
                              or get_user_model().objects.get(username=BENCH_USER))
    response = client.get(f"/api/v1/records/exports/trades.csv?date_from={date_from}&date_to={date_to}")
    assert response.status_code == 200 and response.streaming, response
    return response.streaming_content


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="benchmark trades to have (default 1,000,000)")
    parser.add_argument("--via-api", action="store_true", help="stream through the API view")
    parser.add_argument("--no-tracemalloc", action="store_true", help="skip the tracemalloc pass")
    args = parser.parse_args()

    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    start = ensure_trades(args.rows)
    end = start + timedelta(days=DAYS - 1)
    if args.via_api and not get_user_model().objects.filter(is_superuser=True).exists():
        user = get_user_model().objects.get(username=BENCH_USER)
        user.is_superuser = True
        user.save(update_fields=["is_superuser"])

    print(f"before streaming: rss {current_rss_mib():.1f} MiB, peak rss {peak_rss_mib():.1f} MiB")
    started = time.monotonic()
    small = stream(start, start + timedelta(days=2), via_api=args.via_api)
    seconds = time.monotonic() - started
    print(f"small range : {small:>10,} rows {seconds:7.2f} s  peak rss {peak_rss_mib():7.1f} MiB")

    started = time.monotonic()
    rows = stream(start, end, via_api=args.via_api)
    seconds = time.monotonic() - started
    print(f"whole range : {rows:>10,} rows {seconds:7.2f} s  ({rows / seconds:,.0f} rows/s)  "
          f"peak rss {peak_rss_mib():7.1f} MiB  (rss now {current_rss_mib():.1f} MiB)")

    if not args.no_tracemalloc:
        tracemalloc.start()
        started = time.monotonic()
        rows = stream(start, end, via_api=args.via_api)
        seconds = time.monotonic() - started
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"tracemalloc : {rows:>10,} rows {seconds:7.2f} s  peak python allocations {peak / 1024 / 1024:.2f} MiB")


if __name__ == "__main__":
    main()
