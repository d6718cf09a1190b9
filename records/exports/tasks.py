"""Celery task of the books-and-records exports: the daily exports. Thin: call the service.

Idempotent (a redelivered export returns the date's manifest), so it is acknowledged late.
Database hiccups are retried; a business rule (a clashing range) is final.
"""

from datetime import date, timedelta

from celery import shared_task
from django.contrib.auth import get_user_model
from django.db import OperationalError
from django.utils import timezone

from backoffice.core.context import correlation
from records.exports import services as exports

RETRY = {"autoretry_for": (OperationalError,), "retry_backoff": 30, "retry_kwargs": {"max_retries": 5}}


@shared_task(name="records.daily_exports", acks_late=True, **RETRY)
def daily_exports_task(business_date: str | None = None, date_from: str | None = None, date_to: str | None = None,
                       requested_by_id: int | None = None) -> int:
    """Write and sign the exports of a business date (default: yesterday); returns the manifest id."""
    actor = get_user_model().objects.filter(pk=requested_by_id).first() if requested_by_id else None
    day = date.fromisoformat(business_date) if business_date else timezone.localdate() - timedelta(days=1)
    with correlation(f"job:daily-exports:{daily_exports_task.request.id or 'local'}"):
        manifest = exports.export_manifest_create(
            business_date=day, date_from=date.fromisoformat(date_from) if date_from else None,
            date_to=date.fromisoformat(date_to) if date_to else None,
            actor=actor or exports.EXPORT_ACTOR)
    return manifest.pk
