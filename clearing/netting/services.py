"""Netting runs: eligible trades of a settlement date netted into net obligations (DESIGN.md §5).

A clearing run is a batch job of kind clearing-netting (clearing/netting/jobs.py). Its step "net"
has one chunk per range of instrument ids, fixed when the run is created (instrument_bounds in the
job's parameters, cut so that each chunk holds about TRADES_PER_CHUNK trades; the first and last
ranges are open-ended, so trades booked later in any instrument are covered). Each chunk is a few
set-based statements in the chunk's transaction (clearing_run_net):

1. one statement: UPDATE the eligible trades of the range to CLEARED (the UPDATE takes the row
   locks and rechecks the status, so a trade cancelled concurrently is never netted), group them
   into obligations by (account, settlement counterparty, instrument, settlement date, currency),
   INSERT the obligations, the NettedTrade links and the CLEAR lifecycle events, and return the
   (trade, obligation) pairs;
2. the audit records, in bulk (COPY): one TRANSITION per trade (status BOOKED -> CLEARED with its
   obligation id) and one CREATE per obligation.

Step "summarize" (clearing_run_summarize) writes the run's figures from its obligations. Since a
chunk commits with its completion row, a run killed midway and redelivered redoes exactly the
chunks that did not commit; a failed run started again (clearing_run_start on its date, or a rerun
from the jobs page) continues the same clearing run with a new job, whose chunks net only what is
still BOOKED. Within one run a key (account, counterparty, instrument, date, currency) is netted
once: a trade arriving for a key the run already netted waits for the next run, which nets it into
a new obligation. Amounts: quantity x price exact, summed exactly, then rounded once per
obligation to the amount field's four places (half away from zero) only when the exact sum has
more places.
"""

from datetime import date, timedelta
from itertools import pairwise

from django.db import connection, transaction
from django.db.models import Count, F, Sum
from django.db.models.functions import Abs
from django.utils import timezone

from backoffice.core.exceptions import BusinessRuleError
from backoffice.core.fields import date_param, format_decimal
from backoffice.core.jobs.models import JobRun
from backoffice.core.jobs.services import job_enqueue
from clearing.models import ClearingRun, Obligation
from clearing.netting.selectors import (
    clearing_run_active,
    clearing_run_latest,
    clearing_run_of_job,
    netting_instrument_counts,
)
from records.audit.services.audit import AuditEntry, CanonicalJSON, actor_fields, audit_log, audit_log_bulk, snapshot
from records.dated_runs import DatedRunKind, dated_run_actor, dated_run_create, dated_run_for_job
from records.reference import selectors as reference_selectors
from records.reference.models import Market
from records.reference.services.calendar import is_settlement_day

NETTING = "clearing-netting"
# A chunk of step "net" aims at this many trades (estimated from the booked trades when the run is created).
TRADES_PER_CHUNK = 50_000
MAX_CHUNKS = 1_000
# Audit records built and copied this many at a time, so a chunk's memory stays flat.
AUDIT_BATCH = 20_000
# Instrument ids are bigint: the open ends of the first and last ranges.
_LOWEST, _HIGHEST = 0, 2**63 - 1
# pg_advisory_xact_lock key (namespace, day ordinal): one start per date.
_START_LOCK = 0x4E455453  # "NETS"

# How far ahead next_settlement_date looks before giving up (no market settles for three weeks: a bug).
_HORIZON_DAYS = 21

_TRADE = "records.trade"
_OBLIGATION = "clearing.obligation"
_BEFORE_CLEARING = CanonicalJSON('{"status":"BOOKED"}')


# --- the calendar of netting ---

def settlement_day_markets(day: date) -> list[Market]:
    """Return the markets whose settlement system settles on day (none: no trade can settle then)."""
    return [market for market in reference_selectors.market_list() if is_settlement_day(market=market, day=day)]


def next_settlement_date(*, after: date) -> date:
    """Return the first day after `after` on which some market settles: the date the beat nets."""
    markets = list(reference_selectors.market_list())
    day = after
    for _ in range(_HORIZON_DAYS):
        day += timedelta(days=1)
        if any(is_settlement_day(market=market, day=day) for market in markets):
            return day
    raise LookupError(f"No market settles in the {_HORIZON_DAYS} days after {after}.")



# --- parameters ---

def netting_date_parse(value) -> date:
    """Return the settlement date to net, or raise BusinessRuleError on settlement_date.

    A date (or YYYY-MM-DD text) on which no market's settlement system settles is refused: nothing
    can settle then, so there is nothing to net.
    """
    day = date_param(value, field="settlement_date")
    if not settlement_day_markets(day):
        raise BusinessRuleError(f"{day.isoformat()} is not a settlement day of any market.", field="settlement_date")
    return day


def _instrument_bounds(counts: list[tuple[int, int]], per_chunk: int) -> list[int]:
    """The instrument ids at which a new chunk starts, each chunk holding about per_chunk trades."""
    bounds, held = [], 0
    for instrument_id, trades in counts:
        if held and held + trades > per_chunk:
            bounds.append(instrument_id)
            held = 0
        held += trades
    return bounds[:MAX_CHUNKS - 1]


def _whole_number(value, *, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise BusinessRuleError(f"Give a whole number of at least {minimum}.", field=name)
    try:
        number = int(value)
    except ValueError:
        raise BusinessRuleError(f"Give a whole number of at least {minimum}.", field=name) from None
    if number < minimum:
        raise BusinessRuleError(f"Give a whole number of at least {minimum}.", field=name)
    return number


def netting_parameters(parameters: dict) -> dict:
    """Validate a run's parameters and fix its chunks: {settlement_date, instrument_bounds}.

    The job kind's parse: called when a run is created (the bounds are computed from the booked
    trades of the date, trades_per_chunk of them to a chunk, default TRADES_PER_CHUNK) and again,
    unchanged, for a rerun (the bounds given are kept).
    """
    day = netting_date_parse(parameters.get("settlement_date"))
    bounds = parameters.get("instrument_bounds")
    if bounds is None:
        per_chunk = parameters.get("trades_per_chunk")
        per_chunk = TRADES_PER_CHUNK if per_chunk in (None, "") else _whole_number(
            per_chunk, name="trades_per_chunk", minimum=1)
        bounds = _instrument_bounds(netting_instrument_counts(settlement_date=day), per_chunk)
    elif (not isinstance(bounds, list) or len(bounds) >= MAX_CHUNKS
          or any(isinstance(b, bool) or not isinstance(b, int) or b <= _LOWEST for b in bounds)
          or any(a >= b for a, b in pairwise(bounds))):
        raise BusinessRuleError("Give increasing instrument ids.", field="instrument_bounds")
    return {"settlement_date": day.isoformat(), "instrument_bounds": list(bounds)}


def instrument_ranges(parameters: dict) -> list[tuple[int, int]]:
    """The [low, high) instrument ids of each chunk of step net, the first and last open-ended."""
    edges = [_LOWEST, *parameters["instrument_bounds"], _HIGHEST]
    return list(pairwise(edges))


# --- starting a run ---

RUNS = DatedRunKind(model=ClearingRun, job_kind=NETTING, label="clearing run", purpose="netting",
                    lock_key=_START_LOCK, parse_date=netting_date_parse, of_job=clearing_run_of_job,
                    active=clearing_run_active, latest=clearing_run_latest)


def _actor_of(started_by):
    return dated_run_actor(RUNS, started_by)


@transaction.atomic
def clearing_run_create(*, settlement_date, started_by, task_id: str = "") -> ClearingRun:
    """Record a QUEUED clearing run of the date with its job; enqueue nothing (the caller executes it).

    started_by is a user or a label ("beat", "command:clearing_run"). With task_id (the Celery task
    creating it), a redelivered task gets the run it created. Raises BusinessRuleError for a date
    that is not a settlement day, ConflictError while a run of the date is queued or running. The
    date's last run FAILED: that run is continued by a new job (rerun_of the failed one), not
    replaced, so the date's obligations stay in one run.
    """
    return dated_run_create(RUNS, settlement_date=settlement_date, started_by=started_by, task_id=task_id)


@transaction.atomic
def clearing_run_start(*, settlement_date, started_by) -> ClearingRun:
    """Create a clearing run of the date (see clearing_run_create) and queue it to a worker once this commits.

    The one way the API, the dashboard and `manage.py clearing_run` start netting.
    """
    run = clearing_run_create(settlement_date=settlement_date, started_by=started_by)
    job_id = run.job_id
    # After commit, so a worker never looks for a run that is not there yet.
    job_enqueue(job_id)
    return run


# --- executing a run ---

def _run_for_job(job: JobRun) -> ClearingRun:
    return dated_run_for_job(RUNS, job)


# One statement per chunk. moved: the eligible trades of the range, now CLEARED (the UPDATE's WHERE
# is the guard: a trade no longer BOOKED, cancelled meanwhile say, is not touched). The keys the run
# netted already in the range (none, unless a continued run redoes a chunk) are a NOT IN, read once
# into a hash (none of the columns is null): as a NOT EXISTS, planned on the obligations' statistics
# of before the run (a handful), it became a nested loop comparing every trade with every obligation
# of the run, minutes a chunk on a big date. The key's
# settlement counterparty is the CCP the counterparty clears through (novation), else itself.
# grouped: exact sums (numeric has no scale limit); the INSERT rounds each to the column's scale.
_NET_SQL = """
WITH moved AS (
    UPDATE records_trade AS t SET status = 'CLEARED', updated_at = %(now)s::timestamptz
    FROM records_counterparty AS c
    WHERE c.id = t.counterparty_id
      AND t.settlement_date = %(day)s::date AND t.status = 'BOOKED'
      AND (NOT c.requires_matching OR t.match_status = 'MATCHED')
      AND t.instrument_id >= %(low)s::bigint AND t.instrument_id < %(high)s::bigint
      AND NOT EXISTS (SELECT 1 FROM clearing_nettedtrade AS n WHERE n.trade_id = t.id)
      AND (t.account_id, COALESCE(c.clears_through_id, c.id), t.instrument_id, t.currency) NOT IN (
          SELECT o.account_id, o.counterparty_id, o.instrument_id, o.currency FROM clearing_obligation AS o
          WHERE o.run_id = %(run)s::bigint
            AND o.instrument_id >= %(low)s::bigint AND o.instrument_id < %(high)s::bigint)
    RETURNING t.id, t.account_id, COALESCE(c.clears_through_id, c.id) AS counterparty_id, t.instrument_id,
              t.currency, t.side, t.quantity, t.quantity * t.price AS value
), grouped AS (
    SELECT account_id, counterparty_id, instrument_id, currency, count(*) AS trade_count,
           COALESCE(sum(quantity) FILTER (WHERE side = 'BUY'), 0) AS buy_quantity,
           COALESCE(sum(quantity) FILTER (WHERE side = 'SELL'), 0) AS sell_quantity,
           COALESCE(sum(value) FILTER (WHERE side = 'BUY'), 0) AS buy_value,
           COALESCE(sum(value) FILTER (WHERE side = 'SELL'), 0) AS sell_value
    FROM moved
    GROUP BY account_id, counterparty_id, instrument_id, currency
), obligation AS (
    INSERT INTO clearing_obligation (run_id, account_id, counterparty_id, instrument_id, settlement_date, currency,
                                     net_quantity, net_cash, trade_count, buy_quantity, sell_quantity, buy_value,
                                     sell_value, status, created_at)
    SELECT %(run)s::bigint, account_id, counterparty_id, instrument_id, %(day)s::date, currency,
           buy_quantity - sell_quantity, sell_value - buy_value, trade_count, buy_quantity, sell_quantity,
           buy_value, sell_value, 'OPEN', %(now)s::timestamptz
    FROM grouped
    ORDER BY account_id, counterparty_id, instrument_id, currency
    RETURNING id, run_id, account_id, counterparty_id, instrument_id, settlement_date, currency, net_quantity,
              net_cash, trade_count, buy_quantity, sell_quantity, buy_value, sell_value, status
), link AS (
    INSERT INTO clearing_nettedtrade (trade_id, obligation_id)
    SELECT moved.id, obligation.id
    FROM moved JOIN obligation USING (account_id, counterparty_id, instrument_id, currency)
    RETURNING trade_id, obligation_id
), event AS (
    INSERT INTO records_tradeevent (trade_id, at, actor_id, actor_label, action, from_status, to_status, reason)
    SELECT trade_id, %(now)s::timestamptz, %(actor_id)s::integer, %(actor_label)s::text, 'CLEAR', 'BOOKED',
           'CLEARED', 'Netted into obligation ' || obligation_id || ' by clearing run ' || %(run)s::bigint
    FROM link
)
SELECT 't', trade_id, obligation_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
FROM link
UNION ALL
SELECT 'o', id, run_id, account_id, counterparty_id, instrument_id, settlement_date, currency, net_quantity, net_cash,
       trade_count, buy_quantity, sell_quantity, buy_value, sell_value
FROM obligation
"""
_OBLIGATION_FIELDS = ("id", "run_id", "account_id", "counterparty_id", "instrument_id", "settlement_date", "currency",
                      "net_quantity", "net_cash", "trade_count", "buy_quantity", "sell_quantity", "buy_value",
                      "sell_value")


@transaction.atomic
def clearing_run_net(*, job: JobRun, index: int) -> dict:
    """Net the eligible trades of chunk `index` of the job's run (one instrument range); return what it did.

    Eligible: BOOKED, settling on the run's date, matched unless the counterparty requires no
    matching, not netted before, and of a key the run has not netted yet. Runs in the chunk's
    transaction (the job framework's). The chunks of a run may run at once on several workers:
    their instrument ranges are disjoint, so are their trades, obligations and links; they share
    only key-share locks on reference rows, and no deadlock is possible between them.
    """
    run = _run_for_job(job)
    low, high = instrument_ranges(job.parameters)[index]
    actor = _actor_of(job.started_by)
    user, label = actor_fields(actor)
    reason = f"netted by clearing run {run.pk}"
    params = {"now": timezone.now(), "day": run.settlement_date, "low": low, "high": high, "run": run.pk,
              "actor_id": user.pk if user is not None else None, "actor_label": label}
    trades = 0
    obligations = []
    with connection.cursor() as cursor:
        # The grouping and the join of trades to their obligations sort and hash a chunk's rows in
        # memory rather than in temporary files (PostgreSQL's default is 4 MB); this transaction only.
        cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute(_NET_SQL, params)
        while rows := cursor.fetchmany(AUDIT_BATCH):
            entries = []
            for row in rows:
                if row[0] == "t":
                    entries.append(AuditEntry(_TRADE, row[1], _BEFORE_CLEARING,
                                              CanonicalJSON(f'{{"obligation_id":{row[2]:d},"status":"CLEARED"}}')))
                else:
                    obligations.append(row[1:])
            trades += len(entries)
            audit_log_bulk(actor=actor, action="TRANSITION", entries=entries, reason=reason)
    obligations.sort()
    audit_log_bulk(actor=actor, action="CREATE", reason=reason, entries=[
        AuditEntry(_OBLIGATION, row[0], None, {**dict(zip(_OBLIGATION_FIELDS, row, strict=True)),
                                               "status": Obligation.Status.OPEN})
        for row in obligations])
    return {"rows": trades, "obligations": len(obligations), "instruments": [low, high]}


@transaction.atomic
def clearing_run_summarize(*, job: JobRun) -> dict:
    """Write the run's figures from its obligations (trades netted, obligations, gross and net); return them."""
    run = _run_for_job(job)
    figures = Obligation.objects.filter(run=run).aggregate(
        trades_netted=Sum("trade_count", default=0), obligations_created=Count("id"),
        gross_value=Sum(F("buy_value") + F("sell_value"), default=0), net_value=Sum(Abs("net_cash"), default=0),
        gross_quantity=Sum(F("buy_quantity") + F("sell_quantity"), default=0),
        net_quantity=Sum(Abs("net_quantity"), default=0))
    before = snapshot(run)
    for name, value in figures.items():
        setattr(run, name, value)
    run.save(update_fields=list(figures))
    audit_log(actor=_actor_of(job.started_by), action="UPDATE", instance=run, before=before, after=snapshot(run),
              reason="figures of the completed netting")
    return {"rows": 0, "clearing_run": run.pk, "trades_netted": run.trades_netted,
            "obligations_created": run.obligations_created,
            **{name: format_decimal(getattr(run, name))
               for name in ("gross_value", "net_value", "gross_quantity", "net_quantity")}}
