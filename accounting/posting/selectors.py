"""Reads of accounting's posting: its runs, the rules table, and what is waiting to be posted."""

from django.db import connection
from django.db.models import QuerySet

from accounting.posting.kinds import KINDS
from accounting.posting.rules import rules_table
from backoffice.core.jobs.models import JobRun
from records.trades.models import Trade

# What the next posting run would pick up, counted without posting it: the engine's own conditions (the
# anti-joins of accounting/posting/trades.py and events.py), over the rows of accounting_postingbacklog only:
# the events that may be waiting, kept by triggers (migration accounting 0008), a handful of rows once the
# ledger has caught up instead of every trade and settlement movement. _BACKLOG_EVERYTHING is the same count
# over every event (tests hold the two equal).
_WAITING = {
    "TRADE": """
  (SELECT count(*) FROM {trades} AS t
   LEFT JOIN accounting_postingstate AS s ON s.source_type = 'TRADE' AND s.source_id = t.id
   WHERE CASE WHEN t.status = ANY(%(booked)s) THEN s.entry_id IS NULL OR s.version <> t.version
              ELSE s.entry_id IS NOT NULL END)""",
    "STOCK": """
  (SELECT count(*) FROM {stock} AS m
   LEFT JOIN accounting_postingstate AS s ON s.source_type = 'STOCK' AND s.source_id = m.id
   WHERE s.entry_id IS NULL)""",
    "NETTING": """
  (SELECT count(*) FROM {obligations} AS o WHERE NOT EXISTS (
     SELECT 1 FROM accounting_journalentry AS e WHERE e.source_type = 'NETTING' AND e.source_id = o.id))""",
    "SETTLEMENT": """
  (SELECT count(*) FROM {settlements} AS m WHERE m.cash <> 0 AND NOT EXISTS (
     SELECT 1 FROM accounting_journalentry AS e WHERE e.source_type = 'SETTLEMENT' AND e.source_id = m.id))""",
    "CASH": """
  (SELECT count(*) FROM {cash} AS c WHERE c.kind <> 'SETTLEMENT' AND NOT EXISTS (
     SELECT 1 FROM accounting_journalentry AS e WHERE e.source_type = 'CASH' AND e.source_id = c.id))""",
    "PENALTY": """
  (SELECT count(*) FROM {penalties} AS p WHERE p.amount <> 0 AND NOT EXISTS (
     SELECT 1 FROM accounting_journalentry AS e WHERE e.source_type = 'PENALTY' AND e.source_id = p.id))""",
}
_TABLES = {"trades": ("TRADE", "records_trade"), "stock": ("STOCK", "records_stockmovement"),
           "obligations": ("NETTING", "clearing_obligation"),
           "settlements": ("SETTLEMENT", "settlements_settlementmovement"), "cash": ("CASH", "records_cashmovement"),
           "penalties": ("PENALTY", "settlements_failpenalty")}


def _backlog_sql(*, everything: bool) -> str:
    def source(source_type: str, table: str) -> str:
        if everything:
            return table
        # Only the events the backlog table names (its primary key's range for the type, then the event's).
        return (f"(SELECT x.* FROM accounting_postingbacklog AS b JOIN {table} AS x ON x.id = b.source_id "  # noqa: S608
                f"WHERE b.source_type = '{source_type}')")

    tables = {name: source(*pair) for name, pair in _TABLES.items()}
    return "SELECT" + ",".join(part.format(**tables) for part in _WAITING.values())


_BACKLOG = _backlog_sql(everything=False)
_BACKLOG_EVERYTHING = _backlog_sql(everything=True)
BACKLOG_LABELS = ("trades", "stock movements", "obligations", "settlement movements", "cash movements",
                  "fail penalties")


def posting_run_list(*, kind: str | None = None) -> QuerySet[JobRun]:
    """Accounting's runs (posting, mark to market, end of day), newest first."""
    runs = JobRun.objects.filter(kind__in=KINDS)
    if kind:
        runs = runs.filter(kind=kind)
    return runs.order_by("-created_at", "-id")


def posting_backlog(*, everything: bool = False) -> dict[str, int]:
    """Events waiting for the next posting run, per kind of source (an event without an FX rate or a price
    stays here until one is stored). everything: count over every event instead of the backlog table's (the
    same figures, slowly; for tests)."""
    with connection.cursor() as cursor:
        cursor.execute(_BACKLOG_EVERYTHING if everything else _BACKLOG, {"booked": list(Trade.POSITION_STATUSES)})
        return dict(zip(BACKLOG_LABELS, cursor.fetchone(), strict=True))


def posting_unpostable(job: JobRun) -> dict[str, int]:
    """What a run left unposted, by reason, summed over its chunks."""
    reasons: dict[str, int] = {}
    for chunk in job.result or []:
        for reason, count in (chunk.get("unpostable") or {}).items():
            reasons[reason] = reasons.get(reason, 0) + count
    return reasons


def posting_rules() -> list[dict]:
    return rules_table()
