#!/usr/bin/env python
"""Surveilling a million trades: the compliance-surveillance run of one trade date, end to end and per scenario.

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_surv
    python bench/surveillance.py --fresh --trades 1000000

1. --fresh drops and recreates the database DATABASE_URL names (refused unless its name starts with
   "bench") and migrates it: the default rules (compliance migration 0003) are in force.
2. Reference data of its own: --instruments instruments on XNAS (popularity skewed), --accounts accounts,
   every two of them sharing a beneficial owner, two locked-in counterparties.
3. The run's trade date D (the last XNAS session at least two days before today) gets --trades trades,
   loaded with COPY, captured (created_at) at random through D's session; --history trades spread over
   the 20 weekdays before D (the average daily volume the large-trade scenario compares with; their
   quantities scaled so that the daily volumes are alike). Noise that no scenario flags: buys are
   priced at 98.5-100% of the instrument's previous close, sells at 102-103.5%, so no owner's buy and
   sell VWAPs come within 1% and no late buy or sell moved the close; then the planted hits:
   --plant wash groups (an owner's two accounts buying and selling at the same price), large trades
   (20M shares: over a quarter of any instrument's ADV), late buys at +2.5% in instruments whose close D rose 3%.
4. Cash: --cash deposits and withdrawals over the five value dates ending on D (random amounts, some of
   them in the structuring band by chance), plus --plant accounts with three deposits just under 10,000 USD.
5. Fails to deliver: --fails gross instructions of history trades, failed, a third past their close-out
   deadline on D (those alert and go into the penalty box), a third with the deadline still to come,
   a third closed out.
6. ANALYZE, then the surveillance run of D, timed, in a child process (its peak RSS is the worker's
   alone): surveillance_run_now, the job framework in-process, one chunk per scenario, each chunk's
   seconds; then a rerun of D (every hit already alerted: it raises nothing).

Prints the run's seconds end to end and per scenario, hits and alerts raised, trades/s, and peak RSS.
"""

import argparse
import json
import os
import random
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings.base")

import django

django.setup()

from common import TRADE_COLUMNS, lei, peak_rss_mib  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402
from stdnum import isin as stdnum_isin  # noqa: E402

PREFIX = "BS"
BENCH_USER = "bench-surveillance"
LEI_STEM = "5299009SURVB"
HISTORY_DAYS = 20


def fresh_database() -> None:
    """Drop and recreate the database DATABASE_URL names, then migrate it."""
    import psycopg
    from django.core.management import call_command

    params = connection.settings_dict
    name = params["NAME"]
    if not name.startswith("bench"):
        sys.exit(f"--fresh recreates the database: give one whose name starts with 'bench', not {name!r}")
    connection.close()
    with psycopg.connect(dbname="postgres", host=params["HOST"] or None, port=params["PORT"] or None,
                         user=params["USER"] or None, password=params["PASSWORD"] or None,
                         autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    call_command("migrate", verbosity=0)


def run_date() -> date:
    """The last XNAS session at least two days before today."""
    from records.reference.exchanges import exchange_calendar

    calendar = exchange_calendar("XNAS")
    day = timezone.localdate() - timedelta(days=2)
    while not calendar.is_session(day.isoformat()):
        day -= timedelta(days=1)
    return day


def weekdays_before(day: date, count: int) -> list[date]:
    days = []
    while len(days) < count:
        day -= timedelta(days=1)
        if day.weekday() < 5:
            days.append(day)
    return sorted(days)


def reference_data(instruments: int, accounts: int):
    """Return (account ids, counterparty ids, instrument ids), created the first time."""
    from records.reference.models import Account, Counterparty, Instrument, Market

    market = Market.objects.get(mic="XNAS")
    have = {i.isin for i in Instrument.objects.filter(symbol__startswith=f"{PREFIX}-")}
    new = []
    for n in range(instruments):
        body = f"US{PREFIX}{n:07d}"
        isin = body + stdnum_isin.calc_check_digit(body)
        if isin not in have:
            new.append(Instrument(isin=isin, symbol=f"{PREFIX}-{n}", name=f"Bench instrument {n}",
                                  asset_class="EQUITY", currency="USD", market=market))
    Instrument.objects.bulk_create(new)
    Account.objects.bulk_create([Account(code=f"{PREFIX}-ACC-{n}", name=f"Bench account {n}", kind="CLIENT",
                                         base_currency="USD", beneficial_owner=f"{PREFIX}-OWNER-{n // 2}")
                                 for n in range(accounts)], ignore_conflicts=True)
    counterparties = []
    for n in range(2):
        cp, _ = Counterparty.objects.get_or_create(code=f"{PREFIX}-BRK-{n}", defaults={
            "name": f"Bench broker {n}", "lei": lei(LEI_STEM, n), "requires_matching": False})
        counterparties.append(cp.pk)
    account_ids = list(Account.objects.filter(code__startswith=f"{PREFIX}-ACC-").order_by("id")
                       .values_list("id", flat=True))[:accounts]
    instrument_ids = list(Instrument.objects.filter(symbol__startswith=f"{PREFIX}-").order_by("id")
                          .values_list("id", flat=True))[:instruments]
    return account_ids, counterparties, instrument_ids


def load(args, day: date, accounts, counterparties, instruments) -> dict:
    """COPY the trades, prices, cash movements and fails; return what was planted."""
    from records.reference.exchanges import exchange_calendar

    rng = random.Random(args.seed)
    user, _ = get_user_model().objects.get_or_create(username=BENCH_USER)
    calendar = exchange_calendar("XNAS")
    opens = calendar.session_open(day.isoformat()).to_pydatetime()
    closes = calendar.session_close(day.isoformat()).to_pydatetime()
    session = (closes - opens).total_seconds()
    history = weekdays_before(day, HISTORY_DAYS)
    base = {i: 20 + rng.randrange(480) for i in instruments}  # each instrument's previous close
    weights = [1 / (rank + 1) ** 0.8 for rank in range(len(instruments))]
    plant = args.plant
    marked = instruments[:5]  # closes D 3% up
    stamp = timezone.now()
    counts = {}
    serial = 0

    def price_of(instrument, side):
        factor = rng.uniform(0.985, 1.0) if side == "BUY" else rng.uniform(1.02, 1.035)
        return f"{base[instrument] * factor:.2f}"

    def row(account, instrument, side, quantity, price, trade_date, created_at):
        nonlocal serial
        serial += 1
        return (f"{PREFIX}-{trade_date}-{serial}", user.pk, account, counterparties[serial % 2], instrument, side,
                quantity, price, "USD", trade_date, trade_date + timedelta(days=1), "0", "BOOKED", "UNMATCHED", 1,
                "0", "0" * 64, "[]", created_at, created_at)

    with transaction.atomic(), connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY records_trade ({', '.join(TRADE_COLUMNS)}) FROM STDIN") as copy:
            picked = rng.choices(instruments, weights=weights, k=args.trades)
            for n in range(args.trades):
                side = "BUY" if rng.random() < 0.5 else "SELL"
                at = opens + timedelta(seconds=rng.uniform(0, session))
                copy.write_row(row(accounts[rng.randrange(len(accounts))], picked[n], side,
                                   str(rng.randint(1, 2000)), price_of(picked[n], side), day, at))
            scale = max(1, round(args.trades * HISTORY_DAYS / max(1, args.history)))
            picked = rng.choices(instruments, weights=weights, k=args.history)
            for n in range(args.history):
                side = "BUY" if rng.random() < 0.5 else "SELL"
                trade_date = history[n % len(history)]
                copy.write_row(row(accounts[rng.randrange(len(accounts))], picked[n], side,
                                   str(rng.randint(1, 2000) * scale), price_of(picked[n], side), trade_date,
                                   datetime.combine(trade_date, opens.timetz()).replace(tzinfo=UTC)))
            # Planted wash trades: owner k's two accounts (2k, 2k+1) buy and sell the same instrument at one price.
            for k in range(plant):
                instrument = instruments[-1 - k % 50]
                price = f"{base[instrument]:.2f}"
                at = opens + timedelta(seconds=rng.uniform(0, session / 2))
                copy.write_row(row(accounts[2 * k], instrument, "BUY", "100", price, day, at))
                copy.write_row(row(accounts[2 * k + 1], instrument, "SELL", "100", price, day, at))
            # Planted large trades: 20M shares, over 25% of the ADV of even the most traded instrument.
            for k in range(plant):
                instrument = instruments[k % 20]
                copy.write_row(row(accounts[-1 - k], instrument, "BUY", str(20_000_000 + k),
                                   price_of(instrument, "BUY"), day, opens + timedelta(minutes=30)))
            # Planted marking the close: late buys at +2.5% in the instruments that close 3% up.
            for k in range(plant):
                instrument = marked[k % len(marked)]
                copy.write_row(row(accounts[k], instrument, "BUY", "500", f"{base[instrument] * 1.025:.2f}", day,
                                   closes - timedelta(minutes=rng.uniform(0.5, 14))))
        counts["trades"] = serial
        prices = []
        for instrument in instruments:
            prices.append((instrument, history[-1], base[instrument]))
            prices.append((instrument, day, base[instrument] * (1.03 if instrument in marked else 1.0)))
        with cursor.cursor.copy("COPY records_price (instrument_id, price_date, price, currency, source, created_at, "
                                "updated_at) FROM STDIN") as copy:
            for instrument, price_date, price in prices:
                copy.write_row((instrument, price_date, f"{price:.4f}", "USD", "DEFAULT", stamp, stamp))
        value_dates = [*weekdays_before(day, 4), day]
        moves = 0
        with cursor.cursor.copy("COPY records_cashmovement (account_id, currency, amount, value_date, kind, reference, "
                                "description, created_at) FROM STDIN") as copy:
            for n in range(args.cash):
                amount = rng.randint(100, 50_000)
                deposit = rng.random() < 0.6
                copy.write_row((accounts[rng.randrange(len(accounts))], "USD", amount if deposit else -amount,
                                value_dates[n % 5], "DEPOSIT" if deposit else "WITHDRAWAL", f"{PREFIX}-CM-{n}", "",
                                stamp))
                moves += 1
            for k in range(plant):
                for j, value_date in enumerate(value_dates[-3:]):
                    copy.write_row((accounts[k], "USD", f"{9_100 + rng.randrange(899)}.{rng.randrange(100):02d}",
                                    value_date, "DEPOSIT", f"{PREFIX}-CMS-{k}-{j}", "", stamp))
                    moves += 1
        counts["cash_movements"] = moves
        # Fails to deliver: gross instructions of the first history date's sells.
        cursor.execute("""
            WITH picked AS (
                SELECT t.* FROM records_trade t
                WHERE t.trade_date = %(first)s AND t.side = 'SELL' ORDER BY t.id LIMIT %(fails)s
            ), instructions AS (
                INSERT INTO settlements_settlementinstruction (trade_id, account_id, counterparty_id, instrument_id,
                    settlement_date, direction, payment, quantity, cash_amount, currency, settled_quantity,
                    settled_cash, allow_partial, status, hold_reason, counterparty_fail_reason, created_at, updated_at)
                SELECT p.id, p.account_id, p.counterparty_id, p.instrument_id, p.settlement_date, 'DELIVER', 'APMT',
                       p.quantity, round(p.quantity * p.price, 4), 'USD', 0, 0, true, 'FAILED', '', '', %(now)s, %(now)s
                FROM picked p
                RETURNING id, settlement_date, quantity
            )
            INSERT INTO settlements_settlementfail (instruction_id, kind, cause, failed_on, unsettled_quantity,
                regsho_basis, close_out_deadline, closed_on, created_at, updated_at)
            SELECT i.id, 'DELIVER', 'SECURITIES', i.settlement_date, i.quantity, 'SHORT',
                   CASE i.id %% 3 WHEN 0 THEN %(day)s::date - 1 ELSE %(day)s::date + 1 END,
                   CASE i.id %% 3 WHEN 2 THEN %(day)s::date - 1 END, %(now)s, %(now)s
            FROM instructions i
        """, {"first": history[0], "fails": args.fails, "day": day, "now": stamp})
        counts["fails"] = cursor.rowcount
        for table in ("records_trade", "records_price", "records_cashmovement", "settlements_settlementinstruction",
                      "settlements_settlementfail", "records_account"):
            cursor.execute(f"ANALYZE {table}")
    return counts


def survey_in_this_process(day: str) -> dict:
    """The run (and a rerun) of the day in this process: seconds, per scenario, peak RSS."""
    from compliance.surveillance import services

    outcome = {}
    for label in ("run", "rerun"):
        started = time.monotonic()
        job = services.surveillance_run_now(trade_date=day, started_by="bench")
        outcome[label] = {"seconds": time.monotonic() - started, "status": job.status, "error": job.error,
                          "scenarios": job.result}
    outcome["peak_rss_mib"] = peak_rss_mib()
    return outcome


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trades", type=int, default=1_000_000, help="trades on the run's date (default 1,000,000)")
    parser.add_argument("--history", type=int, default=200_000,
                        help="trades over the 20 weekdays before it (default 200,000)")
    parser.add_argument("--accounts", type=int, default=5_000)
    parser.add_argument("--instruments", type=int, default=500)
    parser.add_argument("--cash", type=int, default=200_000, help="random cash movements (default 200,000)")
    parser.add_argument("--fails", type=int, default=3_000, help="fails to deliver (default 3,000)")
    parser.add_argument("--plant", type=int, default=100, help="planted hits of each scenario (default 100)")
    parser.add_argument("--seed", type=int, default=20261204)
    parser.add_argument("--fresh", action="store_true", help="drop, recreate and migrate the database first")
    parser.add_argument("--no-load", action="store_true",
                        help="survey what an earlier run loaded (its alerts deleted first) instead of loading")
    parser.add_argument("--survey-only", help=argparse.SUPPRESS)  # the child: run this date, print JSON
    args = parser.parse_args()

    if args.survey_only:
        print(json.dumps(survey_in_this_process(args.survey_only), default=str))
        return
    if args.fresh:
        started = time.monotonic()
        fresh_database()
        print(f"database {connection.settings_dict['NAME']} recreated and migrated in "
              f"{time.monotonic() - started:.1f} s")
    day = run_date()
    from records.trades.models import Trade

    if args.no_load:
        with connection.cursor() as cursor:  # the bench database only: what the earlier runs raised and did
            cursor.execute("TRUNCATE compliance_alertevent, compliance_alert, compliance_penaltyboxentry")
            cursor.execute("DELETE FROM core_jobchunk WHERE job_id IN (SELECT id FROM core_jobrun WHERE kind = "
                           "'compliance-surveillance')")
            cursor.execute("DELETE FROM core_jobrun WHERE kind = 'compliance-surveillance'")
        print(f"surveying what is loaded for {day}: {Trade.objects.filter(trade_date=day).count():,} trades")
    elif Trade.objects.filter(trade_date=day).exists():
        sys.exit(f"{day} already has trades: run with --fresh (or --no-load to survey them again)")
    else:
        load_all(args, day)
    connection.close()
    survey(args, day)


def load_all(args, day: date) -> None:
    accounts, counterparties, instruments = reference_data(args.instruments, args.accounts)
    started = time.monotonic()
    counts = load(args, day, accounts, counterparties, instruments)
    print(f"loaded {counts['trades']:,} trades ({args.trades:,} on {day}, {args.history:,} over the 20 weekdays "
          f"before), {counts['cash_movements']:,} cash movements, {counts['fails']:,} fails in "
          f"{time.monotonic() - started:.1f} s ({len(accounts):,} accounts, {len(instruments)} instruments; "
          f"{args.plant} planted hits per scenario)")


def survey(args, day: date) -> None:
    child = subprocess.run([sys.executable, __file__, "--survey-only", day.isoformat()], capture_output=True,
                           text=True, check=False)
    if child.returncode != 0:
        sys.exit(child.stderr[-4000:])
    outcome = json.loads(child.stdout.strip().splitlines()[-1])
    for label in ("run", "rerun"):
        run = outcome[label]
        print(f"surveillance {label} of {day}: {run['seconds']:.2f} s end to end "
              f"({args.trades / run['seconds']:,.0f} trades of the day/s), {run['status']} {run['error']}")
        for row in run["scenarios"] or []:
            extra = (f", penalty box +{row['penalty_box_added']} -{row['penalty_box_released']}"
                     if "penalty_box_added" in row else "")
            print(f"  {row['step']:<15} {row['seconds']:8.2f} s  {row['hits']:>7,} hits  {row['raised']:>7,} new  "
                  f"{row['existing']:>7,} already raised{extra}")
    print(f"worker peak RSS {outcome['peak_rss_mib']:.0f} MiB")


if __name__ == "__main__":
    main()
