"""Posting runs: the ledger brought up to what happened, set-based, in chunks of accounts (DESIGN.md §7).

Three kinds of batch job (accounting/posting/jobs.py), all on the kernel's job framework:

- accounting-posting (every ACCOUNTING_POSTING_SECONDS from beat, and on demand): step "post";
- accounting-mark-to-market {as_of} (API and dashboard): "post", then "mark-to-market" and
  "fx-revaluation" as of the date;
- accounting-eod {as_of} (beat after the day's settlement, and on demand): the same, then
  "reconcile" (accounting/reconciliation/services.py).

Each of the "post", "mark-to-market" and "fx-revaluation" steps has one chunk per range of
account ids (account_bounds, fixed when the run is created; first and last ranges open-ended).
A chunk first takes a transaction-level advisory lock on each of its accounts, in id order, so
two runs (the schedule and the end of day) never post the same account at once; it then reads
what is not posted yet and posts it (accounting/posting/trades.py for trades and stock movements,
accounting/posting/events.py for obligations, settlements, cash movements and penalties), all in
the chunk's transaction. Every entry's key per source event and rule is unique: a rerun, or a
chunk redelivered after its worker died, posts nothing twice.
"""

from datetime import date
from itertools import pairwise

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.utils import timezone

from accounting.posting import events, trades, valuation
from accounting.posting.books import PeriodBook, gl_roles
from accounting.posting.kinds import EOD, KINDS, MARK_TO_MARKET, POSTING  # noqa: F401 - KINDS: for importers
from accounting.posting.writer import entries_write
from backoffice.core.exceptions import BusinessRuleError, ConflictError
from backoffice.core.fields import date_param
from backoffice.core.jobs.models import JobRun
from backoffice.core.jobs.services import job_create, job_enqueue
from records.audit.services.audit import audit_log, snapshot
from records.reference.models import Account

_LOWEST, _HIGHEST = 0, 2**63 - 1
MAX_CHUNKS = 256
# pg_advisory_xact_lock(namespace, account id): one posting chunk at a time per account.
_ACCOUNT_LOCK = 0x504F5354  # "POST"
_LOCK_ACCOUNTS = "SELECT pg_advisory_xact_lock(%s, id::int) FROM records_account WHERE id >= %s AND id < %s ORDER BY id"


# --- parameters and chunks ---

def _as_of(value) -> date:
    if value in (None, ""):
        return timezone.localdate()
    return date_param(value, field="as_of")


def _account_bounds(chunks: int) -> list[int]:
    """Cut the accounts into about `chunks` ranges of as many accounts each: the ids where ranges start."""
    ids = list(Account.objects.order_by("id").values_list("id", flat=True))
    if len(ids) < 2 or chunks < 2:
        return []
    size = -(-len(ids) // chunks)
    return [ids[n] for n in range(size, len(ids), size)][:MAX_CHUNKS - 1]


def _chunk_count() -> int:
    """At least ACCOUNTING_POSTING_CHUNKS, and one per ACCOUNTING_TRADES_PER_CHUNK trades of the blotter (the
    planner's estimate: no count), so a chunk's memory stays bounded however big the day."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = 'records_trade'::regclass")
        trades = cursor.fetchone()[0]
    return min(MAX_CHUNKS, max(settings.ACCOUNTING_POSTING_CHUNKS, -(-trades // settings.ACCOUNTING_TRADES_PER_CHUNK)))


def _bounds(parameters: dict) -> list[int]:
    bounds = parameters.get("account_bounds")
    if bounds is None:
        return _account_bounds(_chunk_count())
    if (not isinstance(bounds, list) or len(bounds) >= MAX_CHUNKS
            or any(isinstance(b, bool) or not isinstance(b, int) or b <= _LOWEST for b in bounds)
            or any(a >= b for a, b in pairwise(bounds))):
        raise BusinessRuleError("Give increasing account ids.", field="account_bounds")
    return list(bounds)


def posting_parameters(parameters: dict) -> dict:
    """The parameters of a posting run: {account_bounds} (cut from the accounts when not given)."""
    return {"account_bounds": _bounds(parameters)}


def valuation_parameters(parameters: dict) -> dict:
    """The parameters of a mark-to-market or end-of-day run: {as_of, account_bounds}; as_of YYYY-MM-DD, default
    today, not in the future."""
    as_of = _as_of(parameters.get("as_of"))
    if as_of > timezone.localdate():
        raise BusinessRuleError(f"{as_of.isoformat()} is in the future: prices and rates are not known yet.",
                                field="as_of")
    return {"as_of": as_of.isoformat(), "account_bounds": _bounds(parameters)}


def account_ranges(parameters: dict) -> list[tuple[int, int]]:
    """The [low, high) account ids of each chunk, the first and last open-ended."""
    return list(pairwise([_LOWEST, *parameters["account_bounds"], _HIGHEST]))


def _lock_accounts(low: int, high: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(_LOCK_ACCOUNTS, [_ACCOUNT_LOCK, low, high])


# The engine's reads anti-join new events with the entries already posted (and trades with their
# posting state). Planned on statistics from before a big run (the ledger was near empty), PostgreSQL
# probes those tables by a sequential scan per event: quadratic (bench/README.md, "Posting"). A
# chunk first refreshes the statistics of a table that has more than doubled since they were taken.
_STALE = """
SELECT c.relname FROM pg_class AS c JOIN pg_stat_user_tables AS s ON s.relid = c.oid
WHERE c.relname = ANY(%s) AND s.n_live_tup > 2 * greatest(c.reltuples, 1000)
"""
_ANALYZED = ("accounting_journalentry", "accounting_postingstate", "accounting_costlot")


def _fresh_statistics() -> None:
    """ANALYZE the stale tables, each unless another chunk is analysing it (its lock is held to its commit: this
    chunk goes on with the statistics it has rather than wait)."""
    with connection.cursor() as cursor:
        cursor.execute(_STALE, [list(_ANALYZED)])
        for (table,) in cursor.fetchall():
            try:
                with transaction.atomic():
                    cursor.execute("SET LOCAL lock_timeout = '20ms'")
                    cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")
                    cursor.execute("RESET lock_timeout")
            except OperationalError:
                continue


def _actor(job: JobRun) -> str:
    return f"job:{job.kind}"


def _merge(into: dict, counts: dict) -> None:
    for reason, count in counts.items():
        into[reason] = into.get(reason, 0) + count


# --- the chunks ---

def posting_post(*, job: JobRun, index: int) -> dict:
    """Post everything not yet posted of the chunk's accounts. Run inside the chunk's transaction."""
    low, high = account_ranges(job.parameters)[index]
    _fresh_statistics()
    _lock_accounts(low, high)
    roles = gl_roles()
    periods = PeriodBook.load(lock=True)
    methods = dict(Account.objects.filter(id__gte=low, id__lt=high).values_list("id", "cost_method"))
    reason = f"posting run {job.pk}"
    lot_outcome = trades.lot_events_post(low=low, high=high, methods=methods, roles=roles, periods=periods,
                                         job_id=job.pk, actor=_actor(job), reason=reason)
    drafts, unpostable = events.events_draft(low, high)
    entries_write(drafts, roles=roles, periods=periods, job_id=job.pk, actor=_actor(job), reason=reason)
    _merge(unpostable, lot_outcome.unpostable)
    by_rule: dict[str, int] = {}
    for draft in lot_outcome.drafts + drafts:
        by_rule[draft.rule] = by_rule.get(draft.rule, 0) + 1
    posted = len(lot_outcome.drafts) + len(drafts)
    return {"rows": posted, "step": "post", "entries": posted, "reversed": lot_outcome.reversed,
            "by_rule": by_rule, "unpostable": unpostable}


def posting_mark_to_market(*, job: JobRun, index: int) -> dict:
    """Mark the chunk's positions to market as of the run's date, with the next day's reversals."""
    low, high = account_ranges(job.parameters)[index]
    as_of = date.fromisoformat(job.parameters["as_of"])
    _lock_accounts(low, high)
    roles = gl_roles()
    periods = PeriodBook.load(lock=True)
    drafts, unpostable = valuation.mark_to_market_drafts(as_of=as_of, low=low, high=high, roles=roles)
    reason = f"mark to market {as_of.isoformat()} (run {job.pk})"
    entries_write(drafts, roles=roles, periods=periods, job_id=job.pk, actor=_actor(job), reason=reason)
    reversals = valuation.mark_to_market_reversals(drafts, as_of=as_of)
    entries_write(reversals, roles=roles, periods=periods, job_id=job.pk, actor=_actor(job), reason=reason)
    return {"rows": len(drafts) + len(reversals), "step": "mark-to-market", "entries": len(drafts),
            "reversals": len(reversals), "unpostable": unpostable}


def posting_fx_revaluation(*, job: JobRun, index: int) -> dict:
    """Revalue the chunk's foreign-currency monetary balances at the run date's rates."""
    low, high = account_ranges(job.parameters)[index]
    as_of = date.fromisoformat(job.parameters["as_of"])
    _lock_accounts(low, high)
    roles = gl_roles()
    periods = PeriodBook.load(lock=True)
    drafts, unpostable = valuation.fx_revaluation_drafts(as_of=as_of, low=low, high=high, roles=roles)
    entries_write(drafts, roles=roles, periods=periods, job_id=job.pk, actor=_actor(job),
                  reason=f"FX revaluation {as_of.isoformat()} (run {job.pk})")
    return {"rows": len(drafts), "step": "fx-revaluation", "entries": len(drafts), "unpostable": unpostable}


# --- starting runs ---

def _running(kind: str) -> JobRun | None:
    return JobRun.objects.filter(kind=kind, status__in=(JobRun.Status.QUEUED, JobRun.Status.RUNNING)).first()


def _start(kind: str, params: dict, started_by, reason: str) -> JobRun:
    """Create a run, audit who started it, and queue it once the caller's transaction commits."""
    job = job_create(kind=kind, params=params, started_by=started_by)
    audit_log(actor=started_by, action="CREATE", instance=job, after=snapshot(job), reason=reason)
    job_enqueue(job.pk)
    return job


@transaction.atomic
def posting_run_start(*, started_by) -> JobRun:
    """Queue a posting run. ConflictError while one is queued or running: it posts everything there is."""
    with connection.cursor() as cursor:  # one start at a time: the check below then holds until commit
        cursor.execute("SELECT pg_advisory_xact_lock(%s, 0)", [_ACCOUNT_LOCK])
    running = _running(POSTING)
    if running is not None:
        raise ConflictError(f"A posting run is already {running.get_status_display().lower()} (job {running.pk}): "
                            "it posts everything not posted yet.")
    return _start(POSTING, {}, started_by, "posting run")


@transaction.atomic
def mark_to_market_start(*, as_of, started_by) -> JobRun:
    """Queue a mark to market (posting first, then valuation and FX revaluation) as of a date (default today)."""
    return _start(MARK_TO_MARKET, {"as_of": as_of}, started_by, "mark to market")


@transaction.atomic
def accounting_eod_start(*, as_of, started_by) -> JobRun:
    """Queue the accounting end of day as of a date: post, mark to market, revalue FX, reconcile."""
    return _start(EOD, {"as_of": as_of}, started_by, "accounting end of day")
