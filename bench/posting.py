#!/usr/bin/env python
"""Posting a million trades to the ledger: the accounting-posting run against a hand-written INSERT ... SELECT.

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_posting
    python bench/posting.py --fresh --trades 1000000

1. --fresh drops and recreates the database DATABASE_URL names (refused unless its name starts
   with "bench") and migrates it: the ledger starts empty, as each figure assumes. Without --fresh
   the database must be migrated and its ledger empty.
2. Reference data of its own: --accounts accounts (every tenth at average cost, the others FIFO),
   --instruments instruments (popularity skewed; every tenth in EUR on Xetra, the others USD on
   Nasdaq), two locked-in counterparties, an EUR/USD rate for every day of the period.
3. --trades trades over --days trade dates (the last weekdays before today, settling the next
   weekday), loaded with COPY, SETTLED, each with a commission; for each a gross settlement
   instruction (SETTLED) and its one settlement movement (cash and securities) of a settlement
   run, written with INSERT ... SELECT. Then ANALYZE. Sells and buys alternate at random in each
   position, so sells relieve long lots (FIFO or average cost) and buys cover short ones.
4. The hand-written posting, timed: one INSERT ... SELECT writing the trade-date entries and their
   lines (data-modifying CTE), one writing the settlement entries and lines, the deferred foreign
   keys checked, committed; into bench_posting_entry and bench_posting_line, created LIKE
   accounting_journalentry / accounting_journalline INCLUDING ALL (columns, defaults, identity,
   CHECK constraints, every index, the unique key) plus the product tables' foreign keys (deferred,
   as Django makes them) and their guard triggers (append-only, lines balance per entry in every
   currency and in base, no closed period): the same table shapes, guarded the same way. The cost
   a sell relieves is the position's average buy price over the loaded trades (FIFO lots need a
   pass in trade-date order; the baseline is about the writes, not the lot arithmetic): realized
   P&L lines, investments and base amounts are approximations, the other accounts' balances are
   exact. It writes no audit records, cost lots, lot movements or posting state (the run does).
5. The posting run, timed, in a child process (so that its peak RSS is the worker's alone): an
   accounting-posting job (job_create + job_run_execute, the job framework in-process, one chunk
   per range of accounts), exactly what a worker does; with --workers N, N worker processes share
   it as Celery workers do. The child reports where the time went.
6. The trial balance both ways, timed: the reports selector (accounting/reports/selectors.py,
   trial_balance and its totals) over the product's ledger, a GROUP BY over the baseline's lines;
   and whether both agree on the accounts the cost approximation does not touch.
7. With a django-ledger virtualenv (--django-ledger-python, default /tmp/djl-venv/bin/python; see
   bench/README.md), bench/posting_ledger.py posts --ledger-sample two-line entries through
   django-ledger's own API in a throwaway database: its entries/s beside the run's.

Prints entries, lines, seconds and entries/s of each, the ratios, and the worker's peak RSS.
"""

import argparse
import json
import os
import random
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings.base")
# As a worker runs: with DEBUG on, Django keeps the text of the last 9,000 statements.
os.environ.setdefault("DEBUG", "false")

import django

django.setup()

import workers  # noqa: E402
from common import TRADE_COLUMNS, lei, peak_rss_mib  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402
from stdnum import isin as stdnum_isin  # noqa: E402

PREFIX = "BP"
BENCH_USER = "bench-posting"
LEI_STEM = "5299009BPOST"
ENTRY, LINE = "bench_posting_entry", "bench_posting_line"
DEFAULT_LEDGER_PYTHON = "/tmp/djl-venv/bin/python"  # noqa: S108 (a scratch virtualenv, see bench/README.md)
# Accounts whose balances the baseline computes exactly as the run posts them (not investments, realized P&L).
EXACT_ROLES = ("CASH", "RECEIVABLE_SALES", "PAYABLE_PURCHASES", "COMMISSION_EXPENSE", "COMMISSIONS_PAYABLE")


# --- the database -------------------------------------------------------------------------------

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


def trade_days(count: int) -> list[date]:
    """The last `count` weekdays ending two days before today (each settles the next weekday, by today)."""
    days, day = [], timezone.localdate() - timedelta(days=2)
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day -= timedelta(days=1)
    return sorted(days)


def next_weekday(day: date) -> date:
    day += timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def reference_data(instruments: int, accounts: int, days: list[date]):
    """Return (account ids, counterparty ids, [(instrument id, currency)]), created the first time; EUR/USD rates."""
    from records.reference.models import Account, Counterparty, FxRate, Instrument, Market

    markets = {m.mic: m for m in Market.objects.filter(mic__in=("XNAS", "XETR"))}
    have = {i.isin for i in Instrument.objects.filter(symbol__startswith=f"{PREFIX}-")}
    new = []
    for n in range(instruments):
        euro = n % 10 == 9
        body = f"{'DE' if euro else 'US'}{PREFIX}{n:07d}"
        isin = body + stdnum_isin.calc_check_digit(body)
        if isin not in have:
            new.append(Instrument(isin=isin, symbol=f"{PREFIX}-{n}", name=f"Bench instrument {n}", asset_class="EQUITY",
                                  currency="EUR" if euro else "USD", market=markets["XETR" if euro else "XNAS"]))
    Instrument.objects.bulk_create(new)
    Account.objects.bulk_create([Account(code=f"{PREFIX}-ACC-{n}", name=f"Bench account {n}", kind="CLIENT",
                                         base_currency="USD", cost_method="AVERAGE" if n % 10 == 4 else "FIFO")
                                 for n in range(accounts)], ignore_conflicts=True)
    counterparties = []
    for n in range(2):
        counterparty, _ = Counterparty.objects.get_or_create(code=f"{PREFIX}-BIL-{n}", defaults={
            "name": f"Bench broker {n}", "lei": lei(LEI_STEM, n), "requires_matching": False})
        counterparties.append(counterparty.pk)
    rng = random.Random(7)
    first, last = days[0] - timedelta(days=7), next_weekday(days[-1])
    FxRate.objects.bulk_create([FxRate(base_currency="EUR", quote_currency="USD", rate_date=first + timedelta(days=n),
                                       rate=f"{1.05 + rng.random() / 10:.6f}", source="BENCH")
                                for n in range((last - first).days + 1)], ignore_conflicts=True)
    account_ids = list(Account.objects.filter(code__startswith=f"{PREFIX}-ACC-").order_by("id")
                       .values_list("id", flat=True))[:accounts]
    instrument_rows = list(Instrument.objects.filter(symbol__startswith=f"{PREFIX}-").order_by("id")
                           .values_list("id", "currency"))[:instruments]
    return account_ids, counterparties, instrument_rows


# The instructions of the loaded trades: gross (one per trade), settled in full by one settlement run.
INSTRUCTIONS = """
INSERT INTO settlements_settlementinstruction (trade_id, account_id, counterparty_id, instrument_id, settlement_date,
    direction, payment, quantity, cash_amount, currency, settled_quantity, settled_cash, allow_partial, status,
    hold_reason, counterparty_fail_reason, created_at, updated_at, settled_at)
SELECT t.id, t.account_id, t.counterparty_id, t.instrument_id, t.settlement_date,
       CASE WHEN t.side = 'BUY' THEN 'RECEIVE' ELSE 'DELIVER' END, 'APMT', t.quantity,
       CASE WHEN t.side = 'BUY' THEN -1 ELSE 1 END * round(t.quantity * t.price, 4), t.currency, t.quantity,
       CASE WHEN t.side = 'BUY' THEN -1 ELSE 1 END * round(t.quantity * t.price, 4), true, 'SETTLED', '', '',
       now(), now(), now()
FROM records_trade AS t WHERE t.external_ref LIKE %(prefix)s ORDER BY t.id
"""
MOVEMENTS = """
INSERT INTO settlements_settlementmovement (instruction_id, run_id, account_id, instrument_id, currency, quantity, cash,
                                            value_date, settled_at)
SELECT i.id, %(run)s, i.account_id, i.instrument_id, i.currency,
       CASE WHEN i.direction = 'RECEIVE' THEN i.quantity ELSE -i.quantity END, i.settled_cash, i.settlement_date, now()
FROM settlements_settlementinstruction AS i JOIN records_trade AS t ON t.id = i.trade_id
WHERE t.external_ref LIKE %(prefix)s ORDER BY i.id
"""


def load(count: int, days: list[date], accounts, counterparties, instruments, *, seed: int) -> int:
    """COPY `count` trades over days (SETTLED), their gross instructions and settlement movements; return movements."""
    from django.contrib.auth import get_user_model

    from backoffice.core.jobs.models import JobRun
    from settlements.models import SettlementRun

    user, _ = get_user_model().objects.get_or_create(username=BENCH_USER)
    rng = random.Random(seed)
    weights = [1 / (rank + 1) ** 0.8 for rank in range(len(instruments))]  # a few instruments trade most
    picked = rng.choices(instruments, weights=weights, k=count)
    stamp = timezone.now().isoformat()
    prices = [f"{rng.randint(500, 90000) / 100:.2f}" for _ in range(4096)]
    quantities = [str(rng.randint(1, 2000)) for _ in range(4096)] + ["12.5", "0.75"]
    commissions = [f"{rng.randint(100, 2500) / 100:.2f}" for _ in range(512)]
    per_day = -(-count // len(days))
    with transaction.atomic(), connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY records_trade ({', '.join(TRADE_COLUMNS)}) FROM STDIN") as copy:
            for n in range(count):
                day = days[n // per_day]
                instrument, currency = picked[n]
                quantity = quantities[n % len(quantities)]
                copy.write_row((f"{PREFIX}-{n}", user.pk, accounts[rng.randrange(len(accounts))],
                                counterparties[n % len(counterparties)], instrument,
                                "BUY" if rng.random() < 0.5 else "SELL", quantity, prices[rng.randrange(4096)],
                                currency, day.isoformat(), next_weekday(day).isoformat(),
                                commissions[n % len(commissions)], "SETTLED", "UNMATCHED", 1, quantity, "0" * 64,
                                "[]", stamp, stamp))
        job = JobRun.objects.create(kind="settlement-run", status=JobRun.Status.COMPLETED, started_by_label="bench",
                                    parameters={"settlement_date": next_weekday(days[-1]).isoformat()})
        run = SettlementRun.objects.create(settlement_date=next_weekday(days[-1]), job=job, settled=count)
        params = {"prefix": f"{PREFIX}-%", "run": run.pk}
        cursor.execute(INSTRUCTIONS, params)
        cursor.execute(MOVEMENTS, params)
        movements = cursor.rowcount
    with connection.cursor() as cursor:
        for table in ("records_trade", "settlements_settlementinstruction", "settlements_settlementmovement",
                      "records_fxrate", "records_account"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    return movements


# --- the hand-written posting ---------------------------------------------------------------------

def baseline_tables() -> None:
    """bench_posting_entry/_line: LIKE the product's INCLUDING ALL, plus their foreign keys and guard triggers.

    The product's set-based foreign keys (backoffice/core/setfk.py, accounting migration 0009) are made again for
    the bench tables, the key to the entry pointing at bench_posting_entry: the same checks, the same cost."""
    from accounting.models import JournalEntry, JournalLine
    from backoffice.core.setfk import create_sql, drop_sql

    replace = {"accounting_journalentry": ENTRY, "accounting_journalline": LINE}
    set_keys = [(replace[model._meta.db_table], field.column, replace.get(field.related_model._meta.db_table,
                                                                          field.related_model._meta.db_table),
                 field.target_field.column)
                for model in (JournalEntry, JournalLine) for field in model._meta.concrete_fields
                if field.is_relation and not field.db_constraint]
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [LINE])
        if cursor.fetchone()[0]:
            for child, column, parent, _ in set_keys:
                cursor.execute(drop_sql(child_table=child, column=column, parent_table=parent))
        cursor.execute(f"DROP TABLE IF EXISTS {LINE}, {ENTRY}")
        for product, bench in replace.items():
            cursor.execute(f"CREATE TABLE {bench} (LIKE {product} INCLUDING ALL)")
        for product, bench in replace.items():
            cursor.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                           "WHERE conrelid = %s::regclass AND contype = 'f'", [product])
            for name, definition in cursor.fetchall():
                definition = definition.replace("REFERENCES accounting_journalentry(", f"REFERENCES {ENTRY}(")
                cursor.execute(f"ALTER TABLE {bench} ADD CONSTRAINT bench_{name[:50]} {definition}")
            cursor.execute("SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = %s::regclass "
                           "AND NOT tgisinternal AND tgname NOT LIKE 'setfk%%'", [product])
            for (definition,) in cursor.fetchall():
                definition = definition.replace(f" ON public.{product} ", f" ON public.{bench} ")
                cursor.execute(definition.replace(f" ON {product} ", f" ON {bench} ")
                               .replace("TRIGGER accounting_", "TRIGGER bench_"))
        for child, column, parent, key in set_keys:
            cursor.cursor.execute(create_sql(child_table=child, column=column, child_pk="id", parent_table=parent,
                                             parent_key=key, lock_parent=parent != ENTRY))


# Trade date: buy Dr investments / Cr payable; sell Dr receivable / Cr investments at cost, realized P&L the
# rest; commission Dr expense / Cr payable. The largest line (investments) takes the base rounding. A line's
# rate: its currency's latest on or before its date (EUR/USD stored as such).
HAND_TRADES = """
WITH average AS (
    SELECT account_id, instrument_id, sum(quantity * price) / sum(quantity) AS price
    FROM records_trade WHERE status = ANY(%(booked)s) AND side = 'BUY' GROUP BY account_id, instrument_id
), src AS MATERIALIZED (
    SELECT t.id, t.account_id, t.instrument_id, t.side = 'BUY' AS buy, t.quantity, t.price, t.commission,
           t.currency, t.trade_date, t.version, g.gross, coalesce(fx.rate, 1) AS rate,
           round(g.gross * coalesce(fx.rate, 1), 4) AS base_gross,
           CASE WHEN t.side = 'BUY' THEN 0 ELSE g.gross - round(t.quantity * coalesce(a.price, t.price), 4) END
               AS realized
    FROM records_trade AS t
    CROSS JOIN LATERAL (SELECT round(t.quantity * t.price, 4) AS gross) AS g
    LEFT JOIN average AS a ON a.account_id = t.account_id AND a.instrument_id = t.instrument_id
    LEFT JOIN LATERAL (SELECT r.rate FROM records_fxrate AS r WHERE r.base_currency = t.currency
        AND r.quote_currency = %(base)s AND r.rate_date <= t.trade_date ORDER BY r.rate_date DESC, r.source LIMIT 1)
        AS fx ON t.currency <> %(base)s
    WHERE t.status = ANY(%(booked)s)
), entries AS (
    INSERT INTO bench_posting_entry (entry_date, event_date, source_type, source_id, source_version, rule, generation,
                                     account_id, instrument_id, currency, description, posted_at)
    SELECT trade_date, trade_date, 'TRADE', id, version, CASE WHEN buy THEN 'TRADE_BUY' ELSE 'TRADE_SELL' END, 0,
           account_id, instrument_id, currency,
           CASE WHEN buy THEN 'Buy ' ELSE 'Sell ' END || trim_scale(quantity) || ' @ ' || trim_scale(price)
               || ' (trade ' || id || ')', now()
    FROM src
    RETURNING id, source_id
)
INSERT INTO bench_posting_line (entry_id, gl_account_id, account_id, instrument_id, currency, amount, base_amount,
                                fx_rate, quantity, entry_date)
SELECT e.id, l.gl, s.account_id, s.instrument_id, s.currency, l.amount, l.base, s.rate, l.quantity, s.trade_date
FROM entries AS e JOIN src AS s ON s.id = e.source_id
CROSS JOIN LATERAL (SELECT round(s.realized * s.rate, 4) AS realized, round(s.commission * s.rate, 4) AS commission)
    AS b
CROSS JOIN LATERAL (VALUES
    (CASE WHEN s.buy THEN %(INVESTMENTS)s ELSE %(RECEIVABLE_SALES)s END, s.gross, s.base_gross,
     CASE WHEN s.buy THEN s.quantity ELSE 0 END),
    (CASE WHEN s.buy THEN %(PAYABLE_PURCHASES)s ELSE %(INVESTMENTS)s END,
     CASE WHEN s.buy THEN -s.gross ELSE s.realized - s.gross END, b.realized - s.base_gross,
     CASE WHEN s.buy THEN 0 ELSE -s.quantity END),
    (%(REALIZED_PNL)s, -s.realized, -b.realized, 0),
    (%(COMMISSION_EXPENSE)s, s.commission, b.commission, 0),
    (%(COMMISSIONS_PAYABLE)s, -s.commission, -b.commission, 0)) AS l(gl, amount, base, quantity)
WHERE l.amount <> 0 OR l.quantity <> 0
"""

# Settlement, gross: a sale's cash Dr cash / Cr receivable, a purchase's Dr payable / Cr cash.
HAND_SETTLEMENTS = """
WITH src AS MATERIALIZED (
    SELECT m.id, m.account_id, m.instrument_id, m.currency, m.value_date, m.cash, m.instruction_id,
           i.direction = 'DELIVER' AS sale, coalesce(fx.rate, 1) AS rate,
           round(m.cash * coalesce(fx.rate, 1), 4) AS base
    FROM settlements_settlementmovement AS m
    JOIN settlements_settlementinstruction AS i ON i.id = m.instruction_id
    LEFT JOIN LATERAL (SELECT r.rate FROM records_fxrate AS r WHERE r.base_currency = m.currency
        AND r.quote_currency = %(base)s AND r.rate_date <= m.value_date ORDER BY r.rate_date DESC, r.source LIMIT 1)
        AS fx ON m.currency <> %(base)s
    WHERE m.cash <> 0
), entries AS (
    INSERT INTO bench_posting_entry (entry_date, event_date, source_type, source_id, source_version, rule, generation,
                                     account_id, instrument_id, currency, description, posted_at)
    SELECT value_date, value_date, 'SETTLEMENT', id, 0,
           CASE WHEN sale THEN 'SETTLEMENT_GROSS_SELL' ELSE 'SETTLEMENT_GROSS_BUY' END, 0, account_id, instrument_id,
           currency, 'Settlement of instruction ' || instruction_id || ' (movement ' || id || ')', now()
    FROM src
    RETURNING id, source_id
)
INSERT INTO bench_posting_line (entry_id, gl_account_id, account_id, instrument_id, currency, amount, base_amount,
                                fx_rate, quantity, entry_date)
SELECT e.id, l.gl, s.account_id, s.instrument_id, s.currency, l.amount, l.base, s.rate, 0, s.value_date
FROM entries AS e JOIN src AS s ON s.id = e.source_id
CROSS JOIN LATERAL (VALUES (%(CASH)s, s.cash, s.base),
    (CASE WHEN s.sale THEN %(RECEIVABLE_SALES)s ELSE %(PAYABLE_PURCHASES)s END, -s.cash, -s.base))
    AS l(gl, amount, base)
"""


def hand_written() -> dict:
    """Time the hand-written posting into the baseline tables, committed; (seconds, entries, lines) per part."""
    from accounting.posting.books import gl_roles
    from records.trades.models import Trade

    baseline_tables()
    params = {**gl_roles(), "booked": list(Trade.POSITION_STATUSES), "base": settings.ACCOUNTING_BASE_CURRENCY}
    with connection.cursor() as cursor:
        cursor.execute("CHECKPOINT")
    out = {}
    started = time.monotonic()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(HAND_TRADES, params)
        out["trade_lines"] = cursor.rowcount
        out["trades_seconds"] = time.monotonic() - started
        cursor.execute(HAND_SETTLEMENTS, params)
        out["settlement_lines"] = cursor.rowcount
        out["settlements_seconds"] = time.monotonic() - started - out["trades_seconds"]
        mark = time.monotonic()
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # what the commit would check
        out["foreign_keys"] = time.monotonic() - mark
    out["seconds"] = time.monotonic() - started
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {ENTRY}")  # noqa: S608
        out["entries"] = cursor.fetchone()[0]
    out["lines"] = out["trade_lines"] + out["settlement_lines"]
    return out


# --- the posting run, in a child process ------------------------------------------------------------

def create_run(chunks: int):
    """A QUEUED accounting-posting run; with chunks, that many account ranges (else the product's default)."""
    from accounting.posting.services import POSTING, _account_bounds
    from backoffice.core.jobs.services import job_create

    params = {"account_bounds": _account_bounds(chunks)} if chunks else {}
    return job_create(kind=POSTING, params=params, started_by="command:bench")


def post_in_this_process(chunks: int, profile: str | None) -> dict:
    """The child: an accounting-posting run through the job framework, timed by part; its peak RSS."""
    from accounting.models import JournalEntry, JournalLine
    from accounting.posting import events, services, trades, writer
    from accounting.posting import jobs as posting_jobs
    from backoffice.core.jobs.services import job_run_execute
    from records.audit.services import audit

    rss_before = peak_rss_mib()
    spent: dict[str, float] = {}

    def timing(name, function):
        spent[name] = 0.0

        def timed(*args, **kwargs):
            started = time.monotonic()
            try:
                return function(*args, **kwargs)
            finally:
                spent[name] += time.monotonic() - started
        return timed

    real_insert = writer.insert_rows
    spent["copy_entries"] = spent["copy_lines"] = 0.0

    def insert_timed(model, columns, rows):
        started = time.monotonic()
        try:
            return real_insert(model, columns, rows)
        finally:
            key = {JournalEntry: "copy_entries", JournalLine: "copy_lines"}.get(model)
            if key:
                spent[key] += time.monotonic() - started

    writer.insert_rows = insert_timed
    audit.audit_rows = timing("audit_rows", audit.audit_rows)
    writer.audit_log_bulk = timing("audit_total", writer.audit_log_bulk)
    trades._fetch = timing("read_trades", trades._fetch)
    trades.entries_write = timing("write_trade_entries", trades.entries_write)
    trades._write_lots = timing("write_lots", trades._write_lots)
    trades._write_states = timing("write_states", trades._write_states)
    services.trades.lot_events_post = timing("lot_events_post", trades.lot_events_post)
    events._rows = timing("read_events", events._rows)
    services.events.events_draft = timing("events_draft", events.events_draft)
    services.entries_write = timing("write_event_entries", services.entries_write)
    real_post = posting_jobs.posting_post
    spent["post"] = spent["foreign_keys"] = 0.0

    def post_and_check_keys(**kwargs):
        started = time.monotonic()
        outcome = real_post(**kwargs)
        spent["post"] += time.monotonic() - started
        # The chunk's deferred foreign keys, checked now rather than by its commit: to time them.
        started = time.monotonic()
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        spent["foreign_keys"] += time.monotonic() - started
        return outcome

    posting_jobs.posting_post = post_and_check_keys
    started = time.monotonic()
    with transaction.atomic():
        job = create_run(chunks)
    spent["create"] = time.monotonic() - started
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        job = profiler.runcall(job_run_execute, job_id=job.pk)
        profiler.dump_stats(profile)
    else:
        job = job_run_execute(job_id=job.pk)
    seconds = time.monotonic() - started
    return {"seconds": seconds, "status": job.status, "error": job.error, "chunks": job.chunks_total,
            "job": job.pk, **spent, "rss_before": rss_before, "peak_rss": peak_rss_mib()}


def ledger_counts(entry_table: str, line_table: str) -> tuple[int, int, dict]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT rule, count(*) FROM {entry_table} GROUP BY rule ORDER BY rule")  # noqa: S608
        by_rule = dict(cursor.fetchall())
        cursor.execute(f"SELECT count(*) FROM {line_table}")  # noqa: S608
        return sum(by_rule.values()), cursor.fetchone()[0], by_rule


# --- trial balances ---------------------------------------------------------------------------------

def product_trial_balance(as_of: date) -> tuple[float, float, list[dict], dict]:
    """The reports selector's trial balance (rows, then totals): (seconds rows, seconds totals, rows, totals)."""
    from accounting.reports.selectors import trial_balance, trial_balance_totals

    started = time.monotonic()
    rows = list(trial_balance(as_of=as_of))
    rows_seconds = time.monotonic() - started
    started = time.monotonic()
    totals = trial_balance_totals(rows)
    return rows_seconds, time.monotonic() - started, rows, totals


def grouped_trial_balance(line_table: str, as_of: date) -> list[dict]:
    """One GROUP BY: each GL account's balance per currency, and in base, of lines dated by as_of."""
    with connection.cursor() as cursor:
        cursor.execute(f"""SELECT g.id, g.code, g.name, g.type, b.currency, b.balance, b.base_balance
                          FROM (SELECT gl_account_id, currency, sum(amount) AS balance, sum(base_amount) AS base_balance
                                FROM {line_table} WHERE entry_date <= %s GROUP BY gl_account_id, currency) AS b
                          JOIN accounting_glaccount AS g ON g.id = b.gl_account_id
                          ORDER BY g.code, b.currency""", [as_of])  # noqa: S608
        names = ("gl_account_id", "gl_code", "gl_name", "gl_type", "currency", "balance", "base_balance")
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def same_exact_balances(product_rows: list[dict], hand_rows: list[dict]) -> tuple[bool, list[str]]:
    """Whether both trial balances agree, per currency, on the accounts the baseline posts exactly, and on
    investments + realized P&L together (a sale's proceeds split between them differently)."""
    from accounting.models import GLAccount

    code_of = dict(GLAccount.objects.exclude(role=None).values_list("role", "code"))
    exact = {code_of[role] for role in EXACT_ROLES}
    pooled = {code_of["INVESTMENTS"], code_of["REALIZED_PNL"]}

    def view(rows):
        out = {}
        for row in rows:
            key = (row["gl_code"] if row["gl_code"] in exact else "investments+realized" if row["gl_code"] in pooled
                   else row["gl_code"], row["currency"])
            out[key] = out.get(key, 0) + row["balance"]
        return out

    mine, theirs = view(product_rows), view(hand_rows)
    differ = [f"{code} {currency}: run {mine.get((code, currency))} hand {theirs.get((code, currency))}"
              for code, currency in sorted(set(mine) | set(theirs))
              if mine.get((code, currency), 0) != theirs.get((code, currency), 0)]
    return not differ, differ


# --- django-ledger ------------------------------------------------------------------------------------

def django_ledger(python: str, sample: int) -> dict | None:
    script = Path(__file__).resolve().parent / "posting_ledger.py"
    if not Path(python).exists():
        print(f"django-ledger: skipped, no virtualenv python at {python} (see bench/README.md to create it, or "
              "pass --django-ledger-python)")
        return None
    params = connection.settings_dict
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "VIRTUAL_ENV"))}
    env.update({"PGHOST": params["HOST"] or "127.0.0.1", "PGPORT": str(params["PORT"] or 5432),
                "PGUSER": params["USER"] or "postgres"})
    child = subprocess.run([python, str(script), "--entries", str(sample)], capture_output=True, text=True, env=env,
                           check=False)
    if child.returncode != 0:
        print(f"django-ledger: failed:\n{child.stderr[-3000:]}")
        return None
    return json.loads(child.stdout.strip().splitlines()[-1])


def print_profile(path: str) -> None:
    import pstats

    print("where the run's time goes (cProfile, tottime, top 25; the profiler slows it down):")
    pstats.Stats(path).sort_stats("tottime").print_stats(25)
    pstats.Stats(path).sort_stats("cumulative").print_stats(40)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trades", type=int, default=1_000_000, help="trades to post (default 1,000,000)")
    parser.add_argument("--accounts", type=int, default=2_000)
    parser.add_argument("--instruments", type=int, default=300)
    parser.add_argument("--days", type=int, default=20, help="trade dates the trades spread over (default 20)")
    parser.add_argument("--chunks", type=int, default=0,
                        help="account ranges of the run (default: the product's: one per "
                             "ACCOUNTING_TRADES_PER_CHUNK trades, at least ACCOUNTING_POSTING_CHUNKS)")
    parser.add_argument("--seed", type=int, default=20261208)
    parser.add_argument("--fresh", action="store_true", help="drop, recreate and migrate the database first")
    parser.add_argument("--workers", type=int, default=1,
                        help="worker processes sharing the run (default 1: one, timed by part)")
    parser.add_argument("--profile", help="cProfile the run (one worker) into this file and print the top")
    parser.add_argument("--django-ledger-python", default=DEFAULT_LEDGER_PYTHON,
                        help=f"python of a virtualenv with django-ledger (default {DEFAULT_LEDGER_PYTHON})")
    parser.add_argument("--ledger-sample", type=int, default=2_000,
                        help="two-line entries to post through django-ledger (default 2,000; 0: skip)")
    parser.add_argument("--post-only", action="store_true", help=argparse.SUPPRESS)  # the child: run it, print JSON
    parser.add_argument("--join", type=int, help=argparse.SUPPRESS)  # a child of --workers: run this job
    args = parser.parse_args()

    if args.join:
        workers.join(args.join)
        return
    if args.post_only:
        print(json.dumps(post_in_this_process(args.chunks, args.profile)))
        return

    if args.fresh:
        started = time.monotonic()
        fresh_database()
        print(f"database {connection.settings_dict['NAME']} recreated and migrated in "
              f"{time.monotonic() - started:.1f} s")
    else:
        print(f"database: {connection.settings_dict['NAME']}")
    from accounting.models import JournalEntry

    if JournalEntry.objects.exists():
        sys.exit("the ledger is not empty: run with --fresh (each figure assumes an empty ledger)")
    days = trade_days(args.days)
    accounts, counterparties, instruments = reference_data(args.instruments, args.accounts, days)
    started = time.monotonic()
    movements = load(args.trades, days, accounts, counterparties, instruments, seed=args.seed)
    euro = sum(1 for _, currency in instruments if currency == "EUR")
    print(f"loaded {args.trades:,} trades over {len(days)} trade dates ({days[0]} to {days[-1]}), their gross "
          f"instructions and {movements:,} settlement movements in {time.monotonic() - started:.1f} s "
          f"({len(accounts):,} accounts, {len(instruments)} instruments, {euro} of them in EUR)")
    as_of = next_weekday(days[-1])

    hand = hand_written()
    print(f"hand-written INSERT ... SELECT (trade-date and settlement entries, foreign keys and guard triggers "
          f"as the product's, committed): {hand['seconds']:7.2f} s  {hand['entries'] / hand['seconds']:>10,.0f} "
          f"entries/s  {hand['entries']:,} entries, {hand['lines']:,} lines")
    print(f"  trade date {hand['trades_seconds']:.2f} s ({hand['trade_lines']:,} lines), settlement "
          f"{hand['settlements_seconds']:.2f} s ({hand['settlement_lines']:,} lines), deferred foreign keys "
          f"{hand['foreign_keys']:.2f} s")
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {ENTRY}")
        cursor.execute(f"VACUUM ANALYZE {LINE}")
        cursor.execute("CHECKPOINT")

    if args.workers > 1:
        with transaction.atomic():
            job = create_run(args.chunks)
        seconds, peaks = workers.run_in_workers(__file__, job.pk, args.workers)
        job.refresh_from_db()
        run = {"seconds": seconds, "chunks": job.chunks_total, "peak_rss": max(peaks), "peaks": peaks}
    else:
        command = [sys.executable, __file__, "--post-only", "--chunks", str(args.chunks)]
        if args.profile:
            command += ["--profile", args.profile]
        child = subprocess.run(command, capture_output=True, text=True, env=os.environ, check=False)
        if child.returncode != 0:
            sys.exit(f"the posting run failed:\n{child.stderr}")
        run = json.loads(child.stdout.strip().splitlines()[-1])
        if run["status"] != "COMPLETED":
            sys.exit(f"the posting run {run['job']} is {run['status']}: {run['error']}")
    seconds = run["seconds"]
    entries, lines, by_rule = ledger_counts("accounting_journalentry", "accounting_journalline")
    print(f"posting run (accounting-posting job, {run['chunks']} chunks, "
          f"{args.workers} worker process{'es' if args.workers > 1 else ''}): {seconds:7.2f} s  "
          f"{entries / seconds:>10,.0f} entries/s  {entries:,} entries, {lines:,} lines  "
          f"({', '.join(f'{rule} {count:,}' for rule, count in by_rule.items())})")
    hand_entries, hand_lines, hand_rules = ledger_counts(ENTRY, LINE)
    print(f"  hand-written: {hand_entries:,} entries, {hand_lines:,} lines "
          f"({', '.join(f'{rule} {count:,}' for rule, count in hand_rules.items())})")
    if args.workers == 1:
        trade_parts = (run["read_trades"] + run["write_trade_entries"] + run["write_lots"] + run["write_states"])
        lot_python = run["lot_events_post"] - trade_parts
        event_python = run["events_draft"] - run["read_events"]
        entry_python = (run["write_trade_entries"] + run["write_event_entries"] - run["copy_entries"]
                        - run["copy_lines"] - run["audit_total"])
        rest_of_post = run["post"] - run["lot_events_post"] - run["events_draft"] - run["write_event_entries"]
        bookkeeping = seconds - run["create"] - run["post"] - run["foreign_keys"]
        print(f"  creating the run: {run['create']:.2f} s")
        print(f"  reading (trades, lots, posting state; settlement movements): {run['read_trades']:.2f} s + "
              f"{run['read_events']:.2f} s")
        print(f"  drafting in Python (lots relieved, rules' lines, base amounts): trades {lot_python:.2f} s, "
              f"settlements {event_python:.2f} s; preparing the rows {entry_python:.2f} s")
        print(f"  COPY entries {run['copy_entries']:.2f} s, COPY lines (with the balance trigger) "
              f"{run['copy_lines']:.2f} s")
        print(f"  audit records: built {run['audit_rows']:.2f} s, "
              f"copied {run['audit_total'] - run['audit_rows']:.2f} s")
        print(f"  cost lots and lot movements {run['write_lots']:.2f} s, posting state {run['write_states']:.2f} s")
        print(f"  deferred foreign-key checks {run['foreign_keys']:.2f} s; locks, chart, periods "
              f"{rest_of_post:.2f} s; commits and the job's bookkeeping {bookkeeping:.2f} s")
    print(f"ratio posting run / hand-written: {seconds / hand['seconds']:.2f} "
          f"(per entry: {(seconds / entries) / (hand['seconds'] / hand['entries']):.2f})")
    if args.workers > 1:
        print(f"workers' peak RSS: {', '.join(f'{peak:.1f}' for peak in run['peaks'])} MiB")
    else:
        print(f"worker peak RSS: {run['peak_rss']:.1f} MiB (after django.setup: {run['rss_before']:.1f} MiB)")

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE accounting_journalline")
    for attempt in ("first", "again"):
        rows_seconds, totals_seconds, rows, totals = product_trial_balance(as_of)
        started = time.monotonic()
        hand_rows = grouped_trial_balance(LINE, as_of)
        hand_tb = time.monotonic() - started
        print(f"trial balance as of {as_of} ({attempt}): reports selector {rows_seconds:.2f} s ({len(rows)} rows)"
              + (f" + its totals {totals_seconds:.2f} s" if totals else "")
              + f"; hand-written GROUP BY {hand_tb:.2f} s ({len(hand_rows)} rows); ratio "
              f"{(rows_seconds + totals_seconds) / hand_tb:.2f}")
    if totals:
        base = totals["base"]
        print(f"  the run's ledger in base: debits {base['debit']:,} credits {base['credit']:,}")
    same, differ = same_exact_balances(rows, hand_rows)
    print(f"  both trial balances agree on {', '.join(EXACT_ROLES)} per currency and on investments + realized "
          f"P&L together: {'yes' if same else 'NO'}" + ("" if same else "\n    " + "\n    ".join(differ)))

    if args.ledger_sample:
        djl = django_ledger(args.django_ledger_python, args.ledger_sample)
        if djl:
            print(f"django-ledger {djl['version']} (its own API, {djl['how']}): {djl['entries']:,} two-line entries "
                  f"in {djl['seconds']:.2f} s, {djl['entries_per_second']:,.1f} entries/s; peak RSS "
                  f"{djl['peak_rss']:.1f} MiB")
            ratio = (entries / seconds) / djl["entries_per_second"]
            print(f"ratio posting run / django-ledger in entries/s: {ratio:,.0f}")
    if args.profile:
        print_profile(args.profile)


if __name__ == "__main__":
    main()
