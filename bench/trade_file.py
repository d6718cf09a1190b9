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
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
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
    args = parser.parse_args()
    files.CHUNK_ROWS = args.chunk
    args.bulk = args.trades if args.bulk is None else args.bulk
    day = trade_date(Market.objects.get(mic="XNAS"))
    refdata = reference_data(args.instruments, args.accounts, day)
    run = f"{PREFIX}{int(time.time())}"
    print(f"trade date {day}, {args.instruments} instruments, {args.accounts} accounts, run {run}, "
          f"{os.cpu_count()} cores")
    bench_file(args, user("bench-file"), run, refdata, day)
    if args.bulk:
        bench_bulk(args, user("bench-bulk"), run, refdata, day)
    print(f"peak RSS of this process: {peak_rss_mib():,.0f} MiB")


if __name__ == "__main__":
    main()
