#!/usr/bin/env python
"""Settling the instructions of a million netted trades: the settlement run against hand-written set-based SQL.

    createdb -h 127.0.0.1 -U postgres bench_settlement
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_settlement
    python manage.py migrate
    python bench/settlement.py --trades 1000000

1. Reference data of its own (reused on a rerun): --instruments instruments on XNAS (popularity
   skewed), --accounts client accounts, a CCP with three members clearing through it and a bilateral
   broker, all locked-in (no matching), each with a standing settlement instruction (through the SSI
   service), so that instructions are not held.
2. --trades trades for one settlement date with none yet (a fresh date each run), loaded with COPY
   (BOOKED), with the positions they move (traded and pending, as capture would), opening stock and
   cash: most accounts hold and fund more than they need; every tenth account holds half the stock
   it must deliver, every tenth (another one) a third of the cash it must pay, so the run has fails
   and partials to make. Then ANALYZE.
3. The date netted by a clearing run (the job framework, in this process), which ends with the
   instructions step: one instruction per obligation, cash reserved for those that pay. Timed,
   but not part of the comparison.
4. The hand-written settlement, timed, in one transaction then rolled back (so that the run finds
   the same data): window functions over the due instructions in priority order (settlement date,
   deliveries first, id) settle those whose running deliveries the position covers and whose running
   payments the cash covers, all or nothing (no partials, no recycling, no audit), then the same
   writes as the run: movements (into a scratch table), instructions, positions (settled in, gross
   pending out), cash movements and balances (reservations released), trades, obligations, fails.
5. The settlement run, timed, in a child process (so that its peak RSS is the worker's alone):
   settlement_run_create + job_run_execute, chunk by chunk (--per-chunk instructions a chunk),
   exactly what a worker does. The child reports where the time went: reading and locking the
   chunk's instructions, positions and cash; deciding (Python); the writes; the audit records.

Prints seconds, instructions/s and trades/s of both, their ratio, what each settled, and the
worker's peak RSS (its own VmHWM).
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
# As a worker runs: with DEBUG on, Django keeps the text of the last 9,000 statements, big arrays included.
os.environ.setdefault("DEBUG", "false")

import django

django.setup()

import workers  # noqa: E402
from common import TRADE_COLUMNS, fresh_settlement_date, lei, peak_rss_mib  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402
from stdnum import isin as stdnum_isin  # noqa: E402

from records.reference.models import Account, Counterparty, Instrument, Market  # noqa: E402

PREFIX = "BS"
BENCH_USER = "bench-settlement"
LEI_STEM = "5299009BSETL"  # the counterparties' LEIs: the stem, six digits, check digits
FIRST_DATE = date(2032, 1, 5)  # far from any real trade; each run takes the next date with no trades




# --- reference data, trades, positions, cash ------------------------------------------------------

def reference_data(instruments: int, accounts: int):
    """Return (account ids, counterparty ids, instrument ids), created the first time, SSIs included."""
    from settlements.instructions.services.ssis import ssi_create
    from settlements.models import StandingSettlementInstruction

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
                                         base_currency="USD", credit_limit=10_000) for n in range(accounts)],
                                ignore_conflicts=True)
    ccp, _ = Counterparty.objects.get_or_create(code=f"{PREFIX}-CCP", defaults={
        "name": "Bench CCP", "lei": lei(LEI_STEM, 0), "is_ccp": True, "requires_matching": False})
    counterparties = [ccp.pk]
    for n in range(1, 4):
        member, _ = Counterparty.objects.get_or_create(code=f"{PREFIX}-MBR-{n}", defaults={
            "name": f"Bench member {n}", "lei": lei(LEI_STEM, n), "clears_through": ccp, "requires_matching": False})
        counterparties.append(member.pk)
    bilateral, _ = Counterparty.objects.get_or_create(code=f"{PREFIX}-BIL-1", defaults={
        "name": "Bench bilateral, locked-in", "lei": lei(LEI_STEM, 10), "requires_matching": False})
    counterparties.append(bilateral.pk)
    for settling in (ccp, bilateral):
        if not StandingSettlementInstruction.objects.filter(counterparty=settling).exists():
            with transaction.atomic():
                ssi_create(actor="command:bench", counterparty=settling, market=None, depository_bic="DTCYUS33",
                           place_of_settlement_bic="DTCYUS33", agent_bic="CITIUS33",
                           safekeeping_account=f"{settling.code}-1", effective_from=date(2020, 1, 1))
    account_ids = list(Account.objects.filter(code__startswith=f"{PREFIX}-ACC-").order_by("id")
                       .values_list("id", flat=True))[:accounts]
    instrument_ids = list(Instrument.objects.filter(symbol__startswith=f"{PREFIX}-").order_by("id")
                          .values_list("id", flat=True))[:instruments]
    return account_ids, counterparties, instrument_ids



# The positions the loaded trades move, as capture would have moved them (traded and pending).
BOOKED_POSITIONS = """
INSERT INTO records_position AS p (account_id, instrument_id, traded_quantity, settled_quantity, pending_receipt,
                                   pending_delivery, updated_at)
SELECT account_id, instrument_id, sum(CASE WHEN side = 'BUY' THEN quantity ELSE -quantity END), 0,
       COALESCE(sum(quantity) FILTER (WHERE side = 'BUY'), 0), COALESCE(sum(quantity) FILTER (WHERE side = 'SELL'), 0),
       now()
FROM records_trade WHERE settlement_date = %(day)s AND external_ref LIKE %(prefix)s
GROUP BY account_id, instrument_id
ON CONFLICT (account_id, instrument_id) DO UPDATE SET
    traded_quantity = p.traded_quantity + excluded.traded_quantity,
    pending_receipt = p.pending_receipt + excluded.pending_receipt,
    pending_delivery = p.pending_delivery + excluded.pending_delivery
"""

# Opening stock: 110% of what each position must deliver; half of it for every tenth account.
OPENING_STOCK = """
WITH sells AS (
    SELECT account_id, instrument_id, sum(quantity) AS sold FROM records_trade
    WHERE settlement_date = %(day)s AND external_ref LIKE %(prefix)s AND side = 'SELL'
    GROUP BY account_id, instrument_id
), stock AS (
    SELECT account_id, instrument_id,
           ceil(sold * CASE WHEN account_id %% 10 = 3 THEN 0.5 ELSE 1.1 END) AS quantity FROM sells
), movement AS (
    INSERT INTO records_stockmovement (account_id, instrument_id, quantity, value_date, kind, reference, description,
                                       created_at)
    SELECT account_id, instrument_id, quantity, %(day)s::date - 7, 'OPENING',
           'BS-OPEN-' || %(day)s || '-' || account_id || '-' || instrument_id, 'bench opening stock', now()
    FROM stock WHERE quantity > 0
)
UPDATE records_position AS p SET traded_quantity = p.traded_quantity + stock.quantity,
                                 settled_quantity = p.settled_quantity + stock.quantity
FROM stock WHERE p.account_id = stock.account_id AND p.instrument_id = stock.instrument_id AND stock.quantity > 0
"""

# Opening cash: 120% of what each account pays for its buys; a third of it for every tenth account.
OPENING_CASH = """
WITH buys AS (
    SELECT account_id, round(sum(quantity * price) * CASE WHEN account_id %% 10 = 7 THEN 0.33 ELSE 1.2 END, 2)
           AS amount
    FROM records_trade WHERE settlement_date = %(day)s AND external_ref LIKE %(prefix)s AND side = 'BUY'
    GROUP BY account_id
), movement AS (
    INSERT INTO records_cashmovement (account_id, currency, amount, value_date, kind, reference, description,
                                      created_at)
    SELECT account_id, 'USD', amount, %(day)s::date - 7, 'DEPOSIT', 'BS-CASH-' || %(day)s || '-' || account_id,
           'bench opening cash', now()
    FROM buys WHERE amount > 0
)
INSERT INTO records_cashbalance AS b (account_id, currency, balance, reserved, updated_at)
SELECT account_id, 'USD', amount, 0, now() FROM buys WHERE amount > 0
ON CONFLICT (account_id, currency) DO UPDATE SET balance = b.balance + excluded.balance
"""


def load_day(count: int, day: date, accounts, counterparties, instruments, *, seed: int) -> None:
    """COPY `count` BOOKED trades settling on day, then their positions, opening stock and opening cash."""
    user, _ = get_user_model().objects.get_or_create(username=BENCH_USER)
    rng = random.Random(seed)
    weights = [1 / (rank + 1) ** 0.8 for rank in range(len(instruments))]
    picked_instruments = rng.choices(instruments, weights=weights, k=count)
    stamp = timezone.now().isoformat()
    trade_date = (day - timedelta(days=1)).isoformat()
    settles = day.isoformat()
    prices = [f"{rng.randint(500, 90000) / 100:.2f}" for _ in range(4096)]
    quantities = [str(rng.randint(1, 2000)) for _ in range(4096)]
    params = {"day": day, "prefix": f"{PREFIX}-{settles}-%"}
    with transaction.atomic(), connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY records_trade ({', '.join(TRADE_COLUMNS)}) FROM STDIN") as copy:
            for n in range(count):
                copy.write_row((f"{PREFIX}-{settles}-{n}", user.pk, accounts[rng.randrange(len(accounts))],
                                counterparties[n % len(counterparties)], picked_instruments[n],
                                "BUY" if rng.random() < 0.5 else "SELL", quantities[n % len(quantities)],
                                prices[rng.randrange(4096)], "USD", trade_date, settles, "0", "BOOKED", "UNMATCHED",
                                1, "0", "0" * 64, "[]", stamp, stamp))
        cursor.execute(BOOKED_POSITIONS, params)
        cursor.execute(OPENING_STOCK, params)
        cursor.execute(OPENING_CASH, params)
    with connection.cursor() as cursor:
        for table in ("records_trade", "records_position", "records_cashbalance"):
            cursor.execute(f"ANALYZE {table}")


def net_and_instruct(day: date) -> tuple[float, int]:
    """The clearing run of the date, with the instructions step its job ends with; (seconds, instructions)."""
    from backoffice.core.jobs.services import job_run_execute
    from clearing.netting.services import clearing_run_create
    from settlements.models import SettlementInstruction

    started = time.monotonic()
    with transaction.atomic():
        run = clearing_run_create(settlement_date=day, started_by="command:bench")
    job = job_run_execute(job_id=run.job_id)
    if job.status != "COMPLETED":
        sys.exit(f"the clearing run failed: {job.error}")
    seconds = time.monotonic() - started
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE settlements_settlementinstruction")
        cursor.execute("ANALYZE clearing_obligation")
    # Every open instruction due by the date (a rerun of the bench on the same database retries the
    # fails of its earlier dates too).
    return seconds, SettlementInstruction.objects.filter(settlement_date__lte=day,
                                                         status__in=SettlementInstruction.OPEN_STATUSES).count()


# --- the hand-written settlement -------------------------------------------------------------------

# One pass in priority order, all or nothing: an instruction settles when its account's running
# deliveries of the instrument (this one included, in priority order) stay within the settled
# position and its running payments within the cash the run may spend (balance - reserved + credit
# limit + what the due instructions reserved). No partials, no recycling, no audit.
HAND_DECIDE = """
CREATE TEMPORARY TABLE bench_settlement_scratch ON COMMIT DROP AS
WITH due AS (
    SELECT i.id, i.account_id, i.instrument_id, i.currency, i.direction, i.obligation_id,
           i.quantity - i.settled_quantity AS quantity, i.cash_amount - i.settled_cash AS cash,
           i.settlement_date, (i.direction = 'RECEIVE') AS receipt, i.settled_quantity AS settled_before,
           i.quantity AS instructed
    FROM settlements_settlementinstruction AS i
    WHERE i.settlement_date <= %(day)s AND i.status IN ('PENDING', 'PARTIAL', 'FAILED')
      AND i.counterparty_failed_at IS NULL
), running AS (
    SELECT due.*,
           sum(CASE WHEN direction = 'DELIVER' THEN quantity ELSE 0 END) OVER (
               PARTITION BY account_id, instrument_id ORDER BY settlement_date, receipt, id) AS delivering,
           sum(CASE WHEN cash < 0 THEN -cash ELSE 0 END) OVER (
               PARTITION BY account_id, currency ORDER BY settlement_date, receipt, id) AS paying,
           sum(CASE WHEN cash < 0 THEN -cash ELSE 0 END) OVER (PARTITION BY account_id, currency) AS reserved_due
    FROM due
)
SELECT r.id, r.account_id, r.instrument_id, r.currency, r.direction, r.obligation_id, r.quantity, r.cash,
       (r.direction <> 'DELIVER' OR r.delivering <= COALESCE(p.settled_quantity, 0))
       AND (r.cash >= 0 OR r.paying <= COALESCE(b.balance - b.reserved, 0) + a.credit_limit + r.reserved_due)
           AS settles,
       -- what an earlier partial released of the gross pending quantities (records/positions/settlement.py)
       COALESCE(o.buy_quantity, 0) - CASE WHEN r.settled_before = 0 THEN 0
           WHEN r.direction = 'RECEIVE'
               THEN r.settled_before + trunc(o.sell_quantity * r.settled_before / r.instructed, 6)
           ELSE trunc(o.buy_quantity * r.settled_before / r.instructed, 6) END AS buy_quantity,
       COALESCE(o.sell_quantity, 0) - CASE WHEN r.settled_before = 0 THEN 0
           WHEN r.direction = 'RECEIVE' THEN trunc(o.sell_quantity * r.settled_before / r.instructed, 6)
           ELSE r.settled_before + trunc(o.buy_quantity * r.settled_before / r.instructed, 6) END AS sell_quantity
FROM running AS r
JOIN records_account AS a ON a.id = r.account_id
LEFT JOIN records_position AS p ON p.account_id = r.account_id AND p.instrument_id = r.instrument_id
LEFT JOIN records_cashbalance AS b ON b.account_id = r.account_id AND b.currency = r.currency
LEFT JOIN clearing_obligation AS o ON o.id = r.obligation_id
"""

HAND_WRITE = [
    # the instructions
    """UPDATE settlements_settlementinstruction AS i
        SET status = CASE WHEN s.settles THEN 'SETTLED' ELSE 'FAILED' END,
            settled_quantity = i.settled_quantity + CASE WHEN s.settles THEN s.quantity ELSE 0 END,
            settled_cash = i.settled_cash + CASE WHEN s.settles THEN s.cash ELSE 0 END,
            settled_at = CASE WHEN s.settles THEN now() ELSE i.settled_at END, updated_at = now()
        FROM bench_settlement_scratch AS s WHERE i.id = s.id""",
    # the fails of those that did not settle
    """INSERT INTO settlements_settlementfail (instruction_id, kind, cause, failed_on, unsettled_quantity,
                                               regsho_basis, created_at, updated_at)
        SELECT id, direction, CASE WHEN direction = 'DELIVER' THEN 'SECURITIES' ELSE 'CASH' END, %(day)s, quantity, '',
               now(), now()
        FROM bench_settlement_scratch WHERE NOT settles ON CONFLICT (instruction_id) DO NOTHING""",
    # the positions: settled in, gross pending out
    """UPDATE records_position AS p
        SET settled_quantity = p.settled_quantity + m.settled, pending_receipt = p.pending_receipt - m.receipt,
            pending_delivery = p.pending_delivery - m.delivery, updated_at = now()
        FROM (SELECT account_id, instrument_id,
                     sum(CASE WHEN direction = 'RECEIVE' THEN quantity ELSE -quantity END) AS settled,
                     sum(buy_quantity) AS receipt, sum(sell_quantity) AS delivery
              FROM bench_settlement_scratch WHERE settles GROUP BY account_id, instrument_id) AS m
        WHERE p.account_id = m.account_id AND p.instrument_id = m.instrument_id""",
    # the cash: one movement each, the balances, the reservations released
    """INSERT INTO records_cashmovement (account_id, currency, amount, value_date, kind, reference, description,
                                          created_at)
        SELECT account_id, currency, cash, %(day)s, 'SETTLEMENT', 'BS-HAND-' || id, '', now()
        FROM bench_settlement_scratch WHERE settles AND cash <> 0""",
    """UPDATE records_cashbalance AS b
        SET balance = b.balance + m.cash, reserved = b.reserved - m.paid, updated_at = now()
        FROM (SELECT account_id, currency, sum(cash) AS cash, sum(CASE WHEN cash < 0 THEN -cash ELSE 0 END) AS paid
              FROM bench_settlement_scratch WHERE settles GROUP BY account_id, currency) AS m
        WHERE b.account_id = m.account_id AND b.currency = m.currency""",
    # the trades and the obligations
    """UPDATE records_trade AS t
        SET status = CASE WHEN s.settles THEN 'SETTLED' ELSE 'FAILED' END,
            settled_quantity = CASE WHEN s.settles THEN t.quantity ELSE 0 END, updated_at = now()
        FROM bench_settlement_scratch AS s JOIN clearing_nettedtrade AS n ON n.obligation_id = s.obligation_id
        WHERE t.id = n.trade_id""",
    """UPDATE clearing_obligation AS o SET status = CASE WHEN s.settles THEN 'SETTLED' ELSE 'FAILED' END
        FROM bench_settlement_scratch AS s WHERE o.id = s.obligation_id""",
]


def hand_written(day: date) -> tuple[float, int, int]:
    """Time the hand-written settlement; roll it back, vacuum the dead rows. (seconds, settled, failed)."""
    class Undo(Exception):
        pass

    started = time.monotonic()
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(HAND_DECIDE, {"day": day})
            for statement in HAND_WRITE:
                cursor.execute(statement, {"day": day})
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # what the commit would check
            seconds = time.monotonic() - started
            cursor.execute("SELECT count(*) FILTER (WHERE settles), count(*) FILTER (WHERE NOT settles) "
                           "FROM bench_settlement_scratch")
            settled, failed = cursor.fetchone()
            raise Undo
    except Undo:
        pass
    with connection.cursor() as cursor:
        for table in ("records_trade", "records_position", "records_cashbalance", "clearing_obligation",
                      "settlements_settlementinstruction", "records_cashmovement", "settlements_settlementfail"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    return seconds, settled, failed


# --- the settlement run, in a child process --------------------------------------------------------

@transaction.atomic
def create_run(day: date, per_chunk: int):
    """A QUEUED settlement run of day, its chunks cut per_chunk open instructions each."""
    from backoffice.core.jobs.models import JobRun
    from settlements.runs import services as runs

    run = runs.settlement_run_create(settlement_date=day, started_by="command:bench")
    JobRun.objects.filter(pk=run.job_id).update(parameters=runs.settlement_parameters(
        {"settlement_date": day.isoformat(), "instructions_per_chunk": per_chunk}))
    return run


def settle_in_this_process(day: date, per_chunk: int) -> dict:
    """The child: a settlement run of day through the job framework, timed by part; its peak RSS."""
    from backoffice.core.jobs.models import JobChunk
    from backoffice.core.jobs.services import job_run_execute
    from records.audit.services import audit
    from settlements.models import SettlementRun
    from settlements.runs import dvp, jobs
    from settlements.runs import services as runs

    rss_before = peak_rss_mib()
    spent = {"create": 0.0, "read": 0.0, "lock_and_decide": 0.0, "decide": 0.0, "audit_rows": 0.0}

    def timing(name, function):
        def timed(*args, **kwargs):
            started = time.monotonic()
            try:
                return function(*args, **kwargs)
            finally:
                spent[name] += time.monotonic() - started
        return timed

    audit.audit_rows = timing("audit_rows", audit.audit_rows)
    runs._lock_open_instructions = timing("read", runs._lock_open_instructions)
    runs._decide = timing("lock_and_decide", runs._decide)
    dvp.settlement_decide = timing("decide", dvp.settlement_decide)
    writers = ("_write_movements", "_write_instructions", "_write_positions", "cash_settle", "_release_reservations",
               "_write_trades", "obligations_settle", "_write_fails", "_count")
    for name in writers:
        spent[name] = 0.0
        setattr(runs, name, timing(name, getattr(runs, name)))
    spent["foreign_keys"] = 0.0
    real_settle = jobs.settlement_run_settle

    def settle_and_check_keys(**kwargs):
        outcome = real_settle(**kwargs)
        # The chunk's deferred foreign keys, checked now rather than by its commit: to time them.
        started = time.monotonic()
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        spent["foreign_keys"] += time.monotonic() - started
        return outcome

    jobs.settlement_run_settle = settle_and_check_keys
    started = time.monotonic()
    run = create_run(day, per_chunk)
    spent["create"] = time.monotonic() - started
    job = job_run_execute(job_id=run.job_id)
    seconds = time.monotonic() - started
    run = SettlementRun.objects.get(pk=run.pk)
    # A chunk's row is written as it begins (JobChunk.done_at): a step lasts from its first chunk's
    # beginning to the next step's (or the job's end). Other apps may append steps (the fails' penalties).
    steps: dict[str, list] = {}
    for step, begun in JobChunk.objects.filter(job=job).order_by("done_at").values_list("step", "done_at"):
        steps.setdefault(step, [begun, begun])
    ordered = sorted(steps.items(), key=lambda item: item[1][0])
    step_seconds = {name: round(((ordered[n + 1][1][0] if n + 1 < len(ordered) else job.finished_at) - began)
                                .total_seconds(), 2) for n, (name, (began, _)) in enumerate(ordered)}
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(DISTINCT m.id), count(DISTINCT n.trade_id) "
                       "FROM settlements_settlementmovement AS m "
                       "JOIN settlements_settlementinstruction AS i ON i.id = m.instruction_id "
                       "LEFT JOIN clearing_nettedtrade AS n ON n.obligation_id = i.obligation_id "
                       "WHERE m.run_id = %s", [run.pk])
        movements, trades = cursor.fetchone()
    return {"seconds": seconds, "status": job.status, "error": job.error, "chunks": job.chunks_total,
            "settled": run.settled, "partial": run.partial, "failed": run.failed, "movements": movements,
            "trades_moved": trades, "run": run.pk, "steps": step_seconds, **spent,
            "rss_before": rss_before, "peak_rss": peak_rss_mib()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trades", type=int, default=1_000_000, help="netted trades to settle (default 1,000,000)")
    parser.add_argument("--instruments", type=int, default=500)
    parser.add_argument("--accounts", type=int, default=2_000)
    parser.add_argument("--per-chunk", type=int, default=50_000,
                        help="open instructions per chunk of the run (default 50,000)")
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--workers", type=int, default=1,
                        help="worker processes sharing the run (default 1: one, timed by part)")
    parser.add_argument("--settle-only", help=argparse.SUPPRESS)  # the child: settle this date, print JSON
    parser.add_argument("--join", type=int, help=argparse.SUPPRESS)  # a child of --workers: run this job
    args = parser.parse_args()

    if args.join:
        workers.join(args.join)
        return
    if args.settle_only:
        print(json.dumps(settle_in_this_process(date.fromisoformat(args.settle_only), args.per_chunk)))
        return

    print(f"database: {connection.settings_dict['NAME']}")
    accounts, counterparties, instruments = reference_data(args.instruments, args.accounts)
    day = fresh_settlement_date(FIRST_DATE)
    started = time.monotonic()
    load_day(args.trades, day, accounts, counterparties, instruments, seed=args.seed)
    print(f"loaded {args.trades:,} trades settling {day}, their positions, opening stock and cash in "
          f"{time.monotonic() - started:.1f} s ({len(accounts)} accounts, {len(instruments)} instruments)")
    net_seconds, instructions = net_and_instruct(day)
    print(f"netted and instructed by a clearing run in {net_seconds:.1f} s: {instructions:,} open instructions due")

    hand_seconds, hand_settled, hand_failed = hand_written(day)
    print(f"hand-written set-based settlement (one pass, all or nothing, no audit; rolled back): {hand_seconds:7.2f} s "
          f"{instructions / hand_seconds:>10,.0f} instructions/s {args.trades / hand_seconds:>10,.0f} trades/s  "
          f"settled {hand_settled:,}, failed {hand_failed:,}")

    if args.workers > 1:
        job_id = create_run(day, args.per_chunk).job_id
        seconds, peaks = workers.run_in_workers(__file__, job_id, args.workers)
        from settlements.models import SettlementRun

        run = SettlementRun.objects.get(job_id=job_id)
        print(f"settlement run (job framework, {args.workers} worker processes, every step): {seconds:7.2f} s "
              f"{instructions / seconds:>10,.0f} instructions/s {args.trades / seconds:>10,.0f} trades/s  "
              f"settled {run.settled:,}, partial {run.partial:,}, failed {run.failed:,}")
        print(f"ratio settlement run / hand-written: {seconds / hand_seconds:.2f}")
        print(f"workers' peak RSS: {', '.join(f'{peak:.1f}' for peak in peaks)} MiB")
        return
    child = subprocess.run([sys.executable, __file__, "--settle-only", day.isoformat(), "--per-chunk",
                            str(args.per_chunk)], capture_output=True, text=True, env=os.environ, check=False)
    if child.returncode != 0:
        sys.exit(f"the settlement run failed:\n{child.stderr}")
    run = json.loads(child.stdout.strip().splitlines()[-1])
    if run["status"] != "COMPLETED":
        sys.exit(f"the settlement run {run['run']} is {run['status']}: {run['error']}")
    seconds = run["seconds"]
    settle_seconds = run["create"] + run["steps"].get("settle", seconds)
    others = {name: s for name, s in run["steps"].items() if name != "settle"}
    print(f"settlement run (job framework, {run['chunks']} chunks): {seconds:7.2f} s in all"
          + (f"; the steps other apps append to it ({', '.join(f'{n} {s:.2f} s' for n, s in others.items())}) aside, "
             f"{settle_seconds:.2f} s" if others else ""))
    seconds = settle_seconds
    print(f"settlement run, creating it and its step settle: {seconds:7.2f} s "
          f"{instructions / seconds:>10,.0f} instructions/s {args.trades / seconds:>10,.0f} trades/s  "
          f"settled {run['settled']:,}, partial {run['partial']:,}, failed {run['failed']:,} "
          f"({run['movements']:,} movements, {run['trades_moved']:,} trades)")
    writes = seconds - run["create"] - run["read"] - run["lock_and_decide"]
    print(f"  seconds of step settle: {run['steps'].get('settle')}")
    print(f"  creating the run (date, counting open instructions per account for the chunks): {run['create']:7.2f} s")
    print(f"  reading and locking the chunks' instructions: {run['read']:7.2f} s")
    print(f"  locking positions and cash, deciding: {run['lock_and_decide']:7.2f} s "
          f"(of which deciding in Python {run['decide']:.2f} s)")
    print(f"  writing (movements, instructions, positions, cash, reservations, trades, obligations, fails, "
          f"audit, commits): {writes:7.2f} s (of which building audit records {run['audit_rows']:.2f} s)")
    parts = ("_write_movements", "_write_instructions", "_write_positions", "cash_settle", "_release_reservations",
             "_write_trades", "obligations_settle", "_write_fails", "_count", "foreign_keys")
    print("    " + ", ".join(f"{part.strip('_')} {run[part]:.2f} s" for part in parts)
          + f"; the rest (commits, the job's bookkeeping) {writes - sum(run[part] for part in parts):.2f} s")
    print(f"ratio settlement run / hand-written: {seconds / hand_seconds:.2f}")
    print(f"worker peak RSS: {run['peak_rss']:.1f} MiB (after django.setup: {run['rss_before']:.1f} MiB)")


if __name__ == "__main__":
    main()
