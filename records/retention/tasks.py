"""Celery task of retention: the purge. Thin: call the service.

Idempotent (a redelivered purge finds nothing more to purge), so it is acknowledged late.
Database hiccups are retried; a business rule (no policy) is final.
"""

from celery import shared_task
from django.db import OperationalError

from backoffice.core.context import correlation
from records.retention import services as retention

RETRY = {"autoretry_for": (OperationalError,), "retry_backoff": 30, "retry_kwargs": {"max_retries": 5}}


@shared_task(name="records.purge", acks_late=True, **RETRY)
def purge_task(*, dry_run: bool = False) -> list[dict]:
    """Purge every registered record type past retention and not on hold."""
    with correlation(f"job:retention-purge:{purge_task.request.id or 'local'}"):
        results = retention.purge_all(dry_run=dry_run)
    return [{"record_type": r.record_type, "cutoff": r.cutoff.isoformat(), "purged": r.purged, "chunks": r.chunks,
             "dry_run": r.dry_run} for r in results]
