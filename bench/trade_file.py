#!/usr/bin/env python
"""A trade file through the product's file path, next to the bulk endpoint on the same kind of trades.

    createdb -h 127.0.0.1 -U postgres bench_files
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_files
    python manage.py migrate
    python bench/trade_file.py --trades 100000            # or --trades 1000000

1. Reference data of its own (reused on a rerun): --instruments instruments on XNAS with a price on the
   trade date, --accounts client accounts funded with cash, a broker clearing through a CCP. The default
   compliance rules stay in force: the trades are buys at the last price, so they book.
2. Writes an N-trade CSV (fresh external_refs each run) to a temporary file.
3. The file path, in this process, as the product runs it: trade_file_upload (stream the file into the
   staging table with COPY, one transaction) then the trade-file job executed here chunk by chunk
   (job_run_execute: what a worker does). Timed per phase; peak RSS (VmHWM) after each.
4. The bulk endpoint on the same number of other trades (another submitter, other refs): POST
   /api/v1/trades/bulk/ of --batch trades through Django's test client (the whole DRF stack: JSON parsing,
   authentication, the view, rendering; no socket, no gunicorn). Skip it with --bulk 0.

Prints trades/s end to end and per phase, the outcomes, and peak RSS.
"""

import argparse
import json
import os
import random
import sys
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings.base")

import django

django.setup()

from common import lei, peak_rss_mib  # noqa: E402
from django.contrib.auth.models import Group, User  # noqa: E402
from django.db import transaction  # noqa: E402
from stdnum import isin as stdnum_isin  # noqa: E402

from backoffice.core.jobs import services as jobs  # noqa: E402
from records.cash.services import cash_movement_create  # noqa: E402
from records.reference.models import Account, Counterparty, Instrument, Market  # noqa: E402
from records.reference.services.calendar import is_trading_session, market_today  # noqa: E402
from records.reference.services.reference import PriceInput, price_upsert  # noqa: E402
from records.trades.files import services as files  # noqa: E402

PREFIX = "TF"
LEI_STEM = "5299009TFILE"
HEADER = ["external_ref", "account", "counterparty", "instrument", "side", "quantity", "price", "trade_date",
          "currency", "commission"]


def user(name: str) -> User:
    u, _ = User.objects.get_or_create(username=name)
    u.groups.add(Group.objects.get(name="front_office"))
    return u


def trade_date(market: Market) -> date:
    day = market_today(market=market) - timedelta(days=1)
    while not is_trading_session(market=market, day=day):
        day -= timedelta(days=1)
    return day


@transaction.atomic
def reference_data(instruments: int, accounts: int, day: date) -> tuple[list[str], list[tuple[str, str]], str]:
    """Accounts, (ISIN, price) pairs and a counterparty code, created (and funded, priced) the first time."""
    market = Market.objects.get(mic="XNAS")
    rng = random.Random(1)
    isins = []
    for n in range(instruments):
        body = f"US{PREFIX}{n:07d}"
        isin = body + stdnum_isin.calc_check_digit(body)
        Instrument.objects.get_or_create(isin=isin, defaults={
            "symbol": f"{PREFIX}-{n}", "name": f"File bench instrument {n}", "asset_class": "EQUITY",
            "currency": "USD", "market": market})
        isins.append(isin)
    priced = [(isin, Decimal(rng.randint(1000, 30000)) / 100) for isin in isins]
    price_upsert(actor="bench", prices=[PriceInput(Instrument.objects.get(isin=isin), day, price, "USD")
                                        for isin, price in priced])
    codes = []
    for n in range(accounts):
        account, created = Account.objects.get_or_create(code=f"{PREFIX}-ACC-{n}", defaults={
            "name": f"File bench account {n}", "kind": "CLIENT", "base_currency": "USD"})
        if created:
            cash_movement_create(actor="bench", account=account, currency="USD", amount=Decimal(10) ** 13,
                                 value_date=day, reference=f"{PREFIX}-FUND-{n}")
        codes.append(account.code)
    ccp, _ = Counterparty.objects.get_or_create(code=f"{PREFIX}-CCP", defaults={
        "name": "File bench CCP", "lei": lei(LEI_STEM, 0), "is_ccp": True, "requires_matching": False})
    broker, _ = Counterparty.objects.get_or_create(code=f"{PREFIX}-BRK", defaults={
        "name": "File bench broker", "lei": lei(LEI_STEM, 1), "clears_through": ccp, "requires_matching": False})
    return codes, priced, broker.code


def trades(count: int, run: str, accounts, priced, counterparty: str, day: date, seed: int):
    rng = random.Random(seed)
    for n in range(count):
        isin, price = priced[rng.randrange(len(priced))]
        yield [f"{run}-{n}", accounts[rng.randrange(len(accounts))], counterparty, isin, "BUY",
               str(rng.randint(1, 50) * 10), str(price), day.isoformat(), "USD", "1.50"]


def cpu_seconds() -> tuple[float, float | None]:
    """CPU seconds (user + system) used so far by this process and by its PostgreSQL backend (read from /proc
    when the server runs on this machine, else None): what a phase costs whatever the machine's load."""
    from django.db import connection

    times = os.times()
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid  # no query: callable in the middle of a transaction
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        backend = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        backend = None
    return times.user + times.system, backend


def bench_file(args, who, run, refdata, day) -> None:
    import csv

    with tempfile.NamedTemporaryFile("w", suffix=".csv", newline="", delete=False) as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(trades(args.trades, f"{run}-F", *refdata, day, args.seed))
        path = out.name
    size = os.path.getsize(path)
    print(f"file: {args.trades:,} trades, {size / 2**20:.1f} MiB ({path})")
    jobs.job_enqueue = lambda job_id, **kwargs: None  # executed here below, as a worker would
    try:
        started = time.perf_counter()
        with open(path, "rb") as stream:
            file = files.trade_file_upload(uploaded_by=who, stream=stream, name=Path(path).name, format="csv")
        staged = time.perf_counter()
        rss_upload = peak_rss_mib()
        cpu_before = cpu_seconds()
        job = jobs.job_run_execute(job_id=file.job_id)
        done = time.perf_counter()
        cpu_after = cpu_seconds()
    finally:
        os.unlink(path)
    file.refresh_from_db()
    assert job.status == "COMPLETED", job.error
    total = done - started
    print(f"  upload (read, check, COPY into staging): {staged - started:7.2f} s  "
          f"{args.trades / (staged - started):10,.0f} rows/s   peak RSS {rss_upload:,.0f} MiB")
    print(f"  booking job ({job.chunks_total - 1} chunks of {files.CHUNK_ROWS:,}): {done - staged:7.2f} s  "
          f"{args.trades / (done - staged):10,.0f} trades/s  peak RSS {peak_rss_mib():,.0f} MiB")
    python_cpu = cpu_after[0] - cpu_before[0]
    backend_cpu = None if cpu_before[1] is None or cpu_after[1] is None else cpu_after[1] - cpu_before[1]
    print(f"  booking CPU: this process {python_cpu:7.2f} s ({python_cpu / args.trades * 1e6:,.0f} us a trade), "
          + ("its PostgreSQL backend not on this machine" if backend_cpu is None else
             f"its PostgreSQL backend {backend_cpu:7.2f} s ({backend_cpu / args.trades * 1e6:,.0f} us a trade)"))
    print(f"  end to end: {total:7.2f} s  {args.trades / total:10,.0f} trades/s   "
          f"created {file.created:,}, duplicate {file.duplicate:,}, rejected {file.rejected:,}")
    if file.rejected:
        from records.trades.files.models import TradeFileRow

        sample = TradeFileRow.objects.filter(file=file, outcome="rejected").values_list("errors", flat=True)[:3]
        print(f"  rejected, for example: {list(sample)}")


# The floor: what PostgreSQL alone costs for the rows a booked trade requires, by bare INSERT ... SELECT from the
# staging rows, a chunk a transaction: the trade (every index, the booked-buys trigger, deferred foreign keys
# checked at commit), its event, its audit record (a text `after` and a SHA-256, as the product's), and the
# positions by one upsert from an aggregate (no position audit records). No validation, no pre-trade checks,
# no outcomes written back: nothing the product could skip.
FLOOR_TABLE = ("CREATE TEMPORARY TABLE IF NOT EXISTS floor_trades (id bigint, external_ref text, account_id bigint, "
               "instrument_id bigint, quantity numeric) ON COMMIT DELETE ROWS")
FLOOR_STEPS = (
    ("trade", """
WITH s AS (
  SELECT s.external_ref, s.side, s.quantity::numeric AS quantity, s.price::numeric AS price, s.trade_date::date AS day,
         coalesce(s.commission, '0')::numeric AS commission, a.id AS account_id, c.id AS counterparty_id,
         i.id AS instrument_id, nextval(pg_get_serial_sequence('records_trade', 'id')) AS id
  FROM records_tradefilerow s JOIN records_account a ON a.code = s.account
  JOIN records_counterparty c ON c.code = s.counterparty JOIN records_instrument i ON i.isin = s.instrument
  WHERE s.file_id = %(file)s AND s.seq >= %(start)s AND s.seq < %(stop)s),
t AS (
  INSERT INTO records_trade (id, external_ref, submitted_by_id, account_id, counterparty_id, instrument_id, side,
    quantity, price, currency, trade_date, settlement_date, commission, status, match_status, version,
    settled_quantity, request_hash, hold_reasons, created_at, updated_at)
  SELECT id, external_ref, %(user)s, account_id, counterparty_id, instrument_id, side, quantity, price, 'USD', day,
    day + 1, commission, 'BOOKED', 'UNMATCHED', 1, 0, md5(external_ref), '[]', now(), now() FROM s
  RETURNING id, external_ref, account_id, instrument_id, quantity)
INSERT INTO floor_trades SELECT * FROM t"""),
    ("event", """
INSERT INTO records_tradeevent (trade_id, at, actor_id, actor_label, action, from_status, to_status, reason)
SELECT id, now(), %(user)s, 'floor', 'BOOK', 'NEW', 'BOOKED', '' FROM floor_trades"""),
    ("audit record", """
INSERT INTO records_auditrecord (at, actor_id, actor_label, action, record_type, record_id, before, after, reason,
  correlation_id, content_hash)
SELECT now(), %(user)s, 'floor', 'CREATE', 'records.trade', id::text, NULL, x.after::jsonb, '', '',
  encode(sha256(convert_to(x.after, 'UTF8')), 'hex')
FROM floor_trades, LATERAL (SELECT '{"external_ref":"' || external_ref || '","id":' || id || ',"quantity":"'
                            || quantity || '"}' AS after) x"""),
    ("position", """
INSERT INTO records_position AS p (account_id, instrument_id, traded_quantity, settled_quantity, pending_receipt,
  pending_delivery, updated_at)
SELECT account_id, instrument_id, sum(quantity), 0, sum(quantity), 0, now() FROM floor_trades
GROUP BY account_id, instrument_id
ON CONFLICT (account_id, instrument_id) DO UPDATE SET traded_quantity = p.traded_quantity + excluded.traded_quantity,
  pending_receipt = p.pending_receipt + excluded.pending_receipt, updated_at = excluded.updated_at"""),
)


def bench_floor(args, who, run, refdata, day) -> None:
    import csv

    from django.db import connection

    with tempfile.NamedTemporaryFile("w", suffix=".csv", newline="", delete=False) as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(trades(args.floor, f"{run}-FL", *refdata, day, args.seed))
        path = out.name
    jobs.job_enqueue = lambda job_id, **kwargs: None  # the job is not run: the floor books the staged rows
    try:
        with open(path, "rb") as stream:
            file = files.trade_file_upload(uploaded_by=who, stream=stream, name=Path(path).name, format="csv")
    finally:
        os.unlink(path)
    steps = {name: [0.0, 0.0] for name, _ in FLOOR_STEPS} | {"commit (deferred foreign keys)": [0.0, 0.0]}

    def timed(name, run):
        wall, cpu = time.perf_counter(), cpu_seconds()[1] or 0.0
        run()
        steps[name][0] += time.perf_counter() - wall
        steps[name][1] += (cpu_seconds()[1] or 0.0) - cpu

    started, cpu_before = time.perf_counter(), cpu_seconds()
    for start in range(0, args.floor, files.CHUNK_ROWS):
        params = {"file": file.pk, "start": start, "stop": start + files.CHUNK_ROWS, "user": who.pk}
        with connection.cursor() as cursor:
            transaction.set_autocommit(False)
            try:
                cursor.execute(FLOOR_TABLE)
                for name, sql in FLOOR_STEPS:
                    timed(name, lambda sql=sql, params=params: cursor.execute(sql, params))
                timed("commit (deferred foreign keys)", transaction.commit)
            finally:
                transaction.set_autocommit(True)
    seconds, cpu_after = time.perf_counter(), cpu_seconds()
    seconds -= started
    backend = None if cpu_before[1] is None else cpu_after[1] - cpu_before[1]
    print(f"floor, bare INSERT ... SELECT from staging of {args.floor:,} trades (trade, event, audit record, position; "
          f"chunks of {files.CHUNK_ROWS:,}): {seconds:7.2f} s  {args.floor / seconds:10,.0f} trades/s"
          + ("" if backend is None else f"   backend CPU {backend:.2f} s ({backend / args.floor * 1e6:,.0f} us a "
                                         "trade)"))
    for name, (wall, cpu) in steps.items():
        print(f"  {name:32} {wall / args.floor * 1e6:7,.0f} us a trade   backend CPU {cpu / args.floor * 1e6:7,.0f} us")


def bench_bulk(args, who, run, refdata, day) -> None:
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(who)
    rows = trades(args.bulk, f"{run}-B", *refdata, day, args.seed)
    counts = {"created": 0, "duplicates": 0, "rejected": 0}
    started = time.perf_counter()
    while True:
        batch = [dict(zip(HEADER, row, strict=True)) for _, row in zip(range(args.batch), rows, strict=False)]
        if not batch:
            break
        response = client.post("/api/v1/trades/bulk/", json.dumps({"trades": batch}), content_type="application/json")
        assert response.status_code == 200, response.content[:500]
        body = response.json()
        for key in counts:
            counts[key] += body[key]
    seconds = time.perf_counter() - started
    print(f"bulk endpoint, {args.bulk:,} trades in requests of {args.batch:,} (in process, no socket): "
          f"{seconds:7.2f} s  {args.bulk / seconds:10,.0f} trades/s   {counts}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trades", type=int, default=100_000)
    parser.add_argument("--bulk", type=int, default=None, help="trades through the bulk endpoint (default --trades)")
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--instruments", type=int, default=50)
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--chunk", type=int, default=files.CHUNK_ROWS, help="rows a booking chunk takes")
    parser.add_argument("--floor", type=int, default=0,
                        help="also stage this many trades and book them by bare INSERT ... SELECT (PostgreSQL's floor)")
    parser.add_argument("--no-file", action="store_true", help="skip the file path (e.g. only --floor)")
    args = parser.parse_args()
    files.CHUNK_ROWS = args.chunk
    args.bulk = args.trades if args.bulk is None else args.bulk
    day = trade_date(Market.objects.get(mic="XNAS"))
    refdata = reference_data(args.instruments, args.accounts, day)
    run = f"{PREFIX}{int(time.time())}"
    print(f"trade date {day}, {args.instruments} instruments, {args.accounts} accounts, run {run}, "
          f"{os.cpu_count()} cores")
    if not args.no_file:
        bench_file(args, user("bench-file"), run, refdata, day)
    if args.floor:
        bench_floor(args, user("bench-floor"), run, refdata, day)
    if args.bulk:
        bench_bulk(args, user("bench-bulk"), run, refdata, day)
    print(f"peak RSS of this process: {peak_rss_mib():,.0f} MiB")


if __name__ == "__main__":
    main()
