"""Closing and reopening accounting periods (calendar months). Each audited.

A closed month takes no postings: the database refuses an entry dated in it
(accounting/migrations/0002_ledger_guards.py), the posting engine dates what happened in it on
the first open day after (PeriodBook.posting_date), and a manual entry dated in it is refused.
Closing takes effect at once; reopening goes through maker-checker ("period.reopen",
accounting/periods/kinds.py) and is applied by period_reopen as the approver.
"""

from datetime import date

from django.db import connection, transaction
from django.utils import timezone

from accounting.models import Period
from accounting.periods.selectors import month_end, month_start
from backoffice.core.exceptions import BusinessRuleError, ConflictError
from backoffice.core.locks import lock_or_create
from records.audit.services.audit import Actor, actor_fields, audit_log, snapshot


def _lock(month: date) -> Period:
    """The month's period row, created if missing, locked FOR UPDATE. Call inside an atomic block.

    Posting takes a share lock on the period rows (PeriodBook.load(lock=True)), so this waits for the
    postings in flight that read the month open.
    """
    start = month_start(month)
    return lock_or_create(Period, start=start, end=month_end(start))


@transaction.atomic
def period_close(*, actor: Actor, month: date, reason: str = "") -> Period:
    """Close a month (any day of it): it takes no more postings. ConflictError if it is closed already;
    BusinessRuleError for a month that has not begun."""
    start = month_start(month)
    if start > month_start(timezone.localdate()):
        raise BusinessRuleError(f"{start:%Y-%m} has not begun: only a current or past month closes.", field="month")
    period = _lock(start)
    if period.status == Period.Status.CLOSED:
        raise ConflictError(f"The period {start:%Y-%m} is already closed.")
    # A posting that read the periods before this month's row existed holds no lock on it: wait for
    # every insert of entries in flight to commit, so none lands in the month after it closed (the
    # trigger refuses any that starts from now on).
    with connection.cursor() as cursor:
        cursor.execute("LOCK TABLE accounting_journalentry IN SHARE MODE")
    before = snapshot(period)
    user, _ = actor_fields(actor)
    period.status = Period.Status.CLOSED
    period.closed_at = timezone.now()
    period.closed_by = user
    period.save(update_fields=["status", "closed_at", "closed_by", "updated_at"])
    audit_log(actor=actor, action="TRANSITION", instance=period, before=before, after=snapshot(period),
              reason=reason or f"period {start:%Y-%m} closed")
    return period


@transaction.atomic
def period_reopen(*, actor: Actor, month: date, reason: str = "") -> Period:
    """Reopen a closed month (applied through maker-checker). ConflictError if it is open."""
    start = month_start(month)
    period = Period.objects.select_for_update().filter(start=start).first()
    if period is None or period.status != Period.Status.CLOSED:
        raise ConflictError(f"The period {start:%Y-%m} is open: there is nothing to reopen.")
    before = snapshot(period)
    period.status = Period.Status.OPEN
    period.closed_at = None
    period.closed_by = None
    period.save(update_fields=["status", "closed_at", "closed_by", "updated_at"])
    audit_log(actor=actor, action="TRANSITION", instance=period, before=before, after=snapshot(period),
              reason=reason or f"period {start:%Y-%m} reopened")
    return period
