"""Reads of accounting's posting: its runs, the rules table, and what is waiting to be posted."""

from django.db import connection
from django.db.models import QuerySet

from accounting.posting.kinds import KINDS
from accounting.posting.rules import rules_table
from backoffice.core.jobs.models import JobRun
from records.trades.models import Trade

# What the next posting run would pick up, counted without posting it (the same anti-joins as the
# engine's reads; see accounting/posting/trades.py and events.py).
_BACKLOG = """
SELECT
  (SELECT count(*) FROM records_trade AS t
   LEFT JOIN accounting_postingstate AS s ON s.source_type = 'TRADE' AND s.source_id = t.id
   WHERE CASE WHEN t.status = ANY(%(booked)s) THEN s.entry_id IS NULL OR s.version <> t.version
              ELSE s.entry_id IS NOT NULL END),
  (SELECT count(*) FROM records_stockmovement AS m
   LEFT JOIN accounting_postingstate AS s ON s.source_type = 'STOCK' AND s.source_id = m.id
   WHERE s.entry_id IS NULL),
  (SELECT count(*) FROM clearing_obligation AS o WHERE NOT EXISTS (
     SELECT 1 FROM accounting_journalentry AS e WHERE e.source_type = 'NETTING' AND e.source_id = o.id)),
  (SELECT count(*) FROM settlements_settlementmovement AS m WHERE m.cash <> 0 AND NOT EXISTS (
     SELECT 1 FROM accounting_journalentry AS e WHERE e.source_type = 'SETTLEMENT' AND e.source_id = m.id)),
  (SELECT count(*) FROM records_cashmovement AS c WHERE c.kind <> 'SETTLEMENT' AND NOT EXISTS (
     SELECT 1 FROM accounting_journalentry AS e WHERE e.source_type = 'CASH' AND e.source_id = c.id)),
  (SELECT count(*) FROM settlements_failpenalty AS p WHERE p.amount <> 0 AND NOT EXISTS (
     SELECT 1 FROM accounting_journalentry AS e WHERE e.source_type = 'PENALTY' AND e.source_id = p.id))
"""
BACKLOG_LABELS = ("trades", "stock movements", "obligations", "settlement movements", "cash movements",
                  "fail penalties")


def posting_run_list(*, kind: str | None = None) -> QuerySet[JobRun]:
    """Accounting's runs (posting, mark to market, end of day), newest first."""
    runs = JobRun.objects.filter(kind__in=KINDS)
    if kind:
        runs = runs.filter(kind=kind)
    return runs.order_by("-created_at", "-id")


def posting_backlog() -> dict[str, int]:
    """Events waiting for the next posting run, per kind of source (an event without an FX rate or a price
    stays here until one is stored)."""
    with connection.cursor() as cursor:
        cursor.execute(_BACKLOG, {"booked": list(Trade.POSITION_STATUSES)})
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
