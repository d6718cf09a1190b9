"""Writes of the reconciliation: the ledger against the stock record and the cash balances (DESIGN.md §7).

A reconciliation run as of a date D compares, for every trading account:

* securities, per instrument: Σ JournalLine.quantity on the GL account of role INVESTMENTS dated on
  or before D, against the stock record's trade-date position (records Position.traded_quantity);
* cash, per currency: Σ JournalLine.amount on the GL account of role CASH dated on or before D,
  against the cash balance (records CashBalance.balance).

The stock record and the cash balances hold today's figures; for a past D what happened after it
(booked trades with a later trade date, stock and cash movements with a later value date) is taken
off, as the inventory as of a date does (records/positions/selectors.inventory_list), so both
sides are as of D. Each side keeps only its non-zero figures; the two are joined both ways (a
ledger figure without a record and a record without a ledger figure are both compared with 0),
and every key where they differ is a break, difference = ledger - records. A position of zero
without ledger lines is neither checked nor a break.

Set-based: one statement per kind reads both sides in one snapshot, inserts the breaks and
returns them with the number of keys checked, whatever the size of the books. The run row is
inserted first with ON CONFLICT (job) DO NOTHING, in the transaction that writes its breaks: a
rerun or a redelivered chunk of the same job finds the run and returns it, writing nothing.
"""

from datetime import date

from django.db import connection, transaction
from django.utils import timezone

from accounting.models import GLAccount, JournalLine, ReconciliationBreak, ReconciliationRun
from accounting.reconciliation.selectors import RECONCILIATION
from backoffice.core.exceptions import BusinessRuleError, ConflictError
from backoffice.core.fields import date_param, format_decimal
from backoffice.core.jobs.models import JobRun
from backoffice.core.jobs.services import job_create, job_start
from records.audit.services.audit import AuditEntry, audit_log, audit_log_bulk, snapshot
from records.cash.models import CashBalance, CashMovement
from records.positions.models import Position, StockMovement
from records.trades.models import Trade

# Break audit records built and copied this many at a time.
AUDIT_BATCH = 20_000

INVESTMENTS = "INVESTMENTS"
CASH = "CASH"
_BREAK = "accounting.reconciliationbreak"


# --- parameters and starting a run ---

def reconciliation_as_of_parse(value) -> date:
    """Return the date to reconcile as of: a date or YYYY-MM-DD text, today when empty; never a day to come.

    Raises BusinessRuleError on "as_of".
    """
    today = timezone.localdate()
    if value is None or value == "":
        return today
    day = date_param(value, field="as_of")
    if day > today:
        raise BusinessRuleError(f"{day.isoformat()} is still to come: the books reconcile as of today or an "
                                "earlier day.", field="as_of")
    return day


def reconciliation_parameters(parameters: dict) -> dict:
    """Validate a run's parameters: {as_of} (YYYY-MM-DD, default today). The job kind's parse."""
    return {"as_of": reconciliation_as_of_parse(parameters.get("as_of")).isoformat()}


def _actor_of(started_by):
    return started_by if started_by is not None else f"job:{RECONCILIATION}"


@transaction.atomic
def reconciliation_start(*, as_of, started_by) -> JobRun:
    """Record a reconciliation job as of a date (default today; audited) and queue it once this commits.

    The one way the API and the reconciliation page start one. Raises BusinessRuleError on "as_of".
    """
    job = job_start(kind=RECONCILIATION, params={"as_of": reconciliation_as_of_parse(as_of).isoformat()},
                    started_by=started_by)
    audit_log(actor=_actor_of(started_by), action="CREATE", instance=job, after=snapshot(job),
              reason=f"reconciliation as of {job.parameters['as_of']}")
    return job


@transaction.atomic
def reconciliation_create(*, as_of, started_by, task_id: str = "") -> JobRun:
    """Record a QUEUED reconciliation job as of a date (audited); enqueue nothing (the caller executes it).

    With task_id (the Celery task creating it), a redelivered task gets the job it created.
    """
    if task_id:
        existing = JobRun.objects.filter(task_id=task_id).first()
        if existing is not None:
            return existing
    job = job_create(kind=RECONCILIATION, params={"as_of": reconciliation_as_of_parse(as_of).isoformat()},
                     started_by=started_by, task_id=task_id)
    audit_log(actor=_actor_of(started_by), action="CREATE", instance=job, after=snapshot(job),
              reason=f"reconciliation as of {job.parameters['as_of']}")
    return job


# --- the reconciliation ---

_T = {
    "line": JournalLine._meta.db_table,
    "break": ReconciliationBreak._meta.db_table,
    "run": ReconciliationRun._meta.db_table,
    "position": Position._meta.db_table,
    "stock_movement": StockMovement._meta.db_table,
    "trade": Trade._meta.db_table,
    "balance": CashBalance._meta.db_table,
    "cash_movement": CashMovement._meta.db_table,
}

_RUN_INSERT_SQL = """
INSERT INTO {run} (job_id, as_of, created_at, positions_checked, balances_checked, breaks)
VALUES (%(job)s, %(as_of)s::date, %(now)s::timestamptz, 0, 0, 0)
ON CONFLICT (job_id) DO NOTHING
RETURNING id
""".format(**_T)

# The keys compared, the breaks inserted, and the count of keys: one row per break (the count
# repeated), or one row of NULLs with the count when nothing breaks.
_COMPARE_TAIL = """
compared AS (
    SELECT coalesce(l.account_id, r.account_id) AS account_id, {key_select},
           coalesce(l.figure, 0) AS ledger, coalesce(r.figure, 0) AS records
    FROM ledger AS l FULL JOIN stock_record AS r ON r.account_id = l.account_id AND {key_join}
),
written AS (
    INSERT INTO {break} (run_id, kind, account_id, instrument_id, currency, ledger, records, difference)
    SELECT %(run)s, %(kind)s, c.account_id, {break_values}, c.ledger, c.records, c.ledger - c.records
    FROM compared AS c
    WHERE c.ledger <> c.records
    ORDER BY c.account_id, {break_order}
    RETURNING id, account_id, instrument_id, currency, ledger, records, difference
)
SELECT checked.n, w.id, w.account_id, w.instrument_id, w.currency, w.ledger, w.records, w.difference
FROM (SELECT count(*) AS n FROM compared) AS checked LEFT JOIN written AS w ON true
"""

# Securities: quantities on the INVESTMENTS account against trade-date positions. The stock record
# as of the date: today's position less the booked trades dated after it and the stock movements
# valued after it.
_SECURITIES_SQL = """
WITH ledger AS (
    SELECT l.account_id, l.instrument_id, sum(l.quantity) AS figure
    FROM {line} AS l
    WHERE l.gl_account_id = %(gl_account)s AND l.entry_date <= %(as_of)s::date
      AND l.account_id IS NOT NULL AND l.instrument_id IS NOT NULL
    GROUP BY l.account_id, l.instrument_id
    HAVING sum(l.quantity) <> 0
),
stock_record AS (
    SELECT s.account_id, s.instrument_id, sum(s.quantity) AS figure
    FROM (
        SELECT p.account_id, p.instrument_id, p.traded_quantity AS quantity FROM {position} AS p
        UNION ALL
        SELECT t.account_id, t.instrument_id, CASE WHEN t.side = 'BUY' THEN -t.quantity ELSE t.quantity END
        FROM {trade} AS t
        WHERE t.trade_date > %(as_of)s::date AND t.status = ANY(%(position_statuses)s::text[])
        UNION ALL
        SELECT m.account_id, m.instrument_id, -m.quantity FROM {stock_movement} AS m
        WHERE m.value_date > %(as_of)s::date
    ) AS s
    GROUP BY s.account_id, s.instrument_id
    HAVING sum(s.quantity) <> 0
),
""".format(**_T) + _COMPARE_TAIL.format(  # noqa: S608 - table names from _meta
    key_select="coalesce(l.instrument_id, r.instrument_id) AS instrument_id",
    key_join="r.instrument_id = l.instrument_id",
    break_values="c.instrument_id, ''", break_order="c.instrument_id", **_T)

# Cash: amounts on the CASH account against cash balances, as of the date (less the cash movements
# valued after it).
_CASH_SQL = """
WITH ledger AS (
    SELECT l.account_id, l.currency, sum(l.amount) AS figure
    FROM {line} AS l
    WHERE l.gl_account_id = %(gl_account)s AND l.entry_date <= %(as_of)s::date AND l.account_id IS NOT NULL
    GROUP BY l.account_id, l.currency
    HAVING sum(l.amount) <> 0
),
stock_record AS (
    SELECT s.account_id, s.currency, sum(s.amount) AS figure
    FROM (
        SELECT b.account_id, b.currency, b.balance AS amount FROM {balance} AS b
        UNION ALL
        SELECT m.account_id, m.currency, -m.amount FROM {cash_movement} AS m WHERE m.value_date > %(as_of)s::date
    ) AS s
    GROUP BY s.account_id, s.currency
    HAVING sum(s.amount) <> 0
),
""".format(**_T) + _COMPARE_TAIL.format(  # noqa: S608 - table names from _meta
    key_select="coalesce(l.currency, r.currency) AS currency",
    key_join="r.currency = l.currency",
    break_values="NULL::bigint, c.currency", break_order="c.currency", **_T)


def _gl_account_id(role: str) -> int:
    gl_account = GLAccount.objects.filter(role=role).values_list("pk", flat=True).first()
    if gl_account is None:
        raise BusinessRuleError(f"The chart of accounts has no account of role {role}: nothing to reconcile "
                                "the ledger with.", field="as_of")
    return gl_account


def _compare(cursor, sql: str, *, run_id: int, kind: str, gl_account: int, as_of: date, actor) -> tuple[int, int]:
    """Run one kind's statement and audit the breaks it inserted; return (keys checked, breaks).

    The breaks are read and audited AUDIT_BATCH at a time, so a worker's memory does not grow with their
    number (a first reconciliation of a big book can break on every position).
    """
    cursor.execute(sql, {"run": run_id, "kind": kind, "gl_account": gl_account, "as_of": as_of,
                         "position_statuses": list(Trade.POSITION_STATUSES)})
    checked, breaks = 0, 0
    while rows := cursor.fetchmany(AUDIT_BATCH):
        checked = rows[0][0]
        found = [row[1:] for row in rows if row[1] is not None]
        if found:
            audit_log_bulk(actor=actor, action="CREATE", entries=_break_entries(kind, found, run_id),
                           reason=f"reconciliation break as of {as_of.isoformat()}")
        breaks += len(found)
    return checked, breaks


def _break_entries(kind: str, rows: list[tuple], run_id: int) -> list[AuditEntry]:
    return [AuditEntry(record_type=_BREAK, record_id=str(pk), before=None, after={
        "run_id": run_id, "kind": kind, "account_id": account_id, "instrument_id": instrument_id,
        "currency": currency, "ledger": format_decimal(ledger), "records": format_decimal(records),
        "difference": format_decimal(difference)})
        for pk, account_id, instrument_id, currency, ledger, records, difference in rows]


def _job_actor(job: JobRun):
    return job.started_by if job.started_by_id else f"job:{job.kind}"


@transaction.atomic
def reconciliation_reconcile(*, job: JobRun, as_of: date) -> ReconciliationRun:
    """Reconcile the ledger to the stock record and the cash balances as of a date, as the run of a job.

    Usable from any job (its own kind's step, or a step of the end of day). Idempotent per job: the
    run and its breaks commit together, and a rerun returns the run the job already has (a
    ConflictError if that run is of another date). Audited: the run, and each break.
    """
    investments, cash_account = _gl_account_id(INVESTMENTS), _gl_account_id(CASH)
    with connection.cursor() as cursor:
        cursor.execute(_RUN_INSERT_SQL, {"job": job.pk, "as_of": as_of, "now": timezone.now()})
        inserted = cursor.fetchone()
        if inserted is None:
            run = ReconciliationRun.objects.get(job=job)
            if run.as_of != as_of:
                raise ConflictError(f"Job {job.pk} already reconciled as of {run.as_of.isoformat()}, "
                                    f"not {as_of.isoformat()}.")
            return run
        run_id = inserted[0]
        actor = _job_actor(job)
        positions_checked, securities = _compare(cursor, _SECURITIES_SQL, run_id=run_id,
                                                 kind=ReconciliationBreak.Kind.SECURITIES,
                                                 gl_account=investments, as_of=as_of, actor=actor)
        balances_checked, cash = _compare(cursor, _CASH_SQL, run_id=run_id, kind=ReconciliationBreak.Kind.CASH,
                                          gl_account=cash_account, as_of=as_of, actor=actor)
    ReconciliationRun.objects.filter(pk=run_id).update(
        positions_checked=positions_checked, balances_checked=balances_checked, breaks=securities + cash)
    run = ReconciliationRun.objects.select_related("job").get(pk=run_id)
    audit_log(actor=actor, action="CREATE", instance=run, after=snapshot(run),
              reason=f"reconciliation as of {as_of.isoformat()}")
    return run
