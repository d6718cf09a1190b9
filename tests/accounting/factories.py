"""Building ledger data in tests: entries posted through the same writer the posting engine uses."""

import itertools
from datetime import date
from decimal import Decimal

from django.db import transaction

from accounting.models import JournalEntry
from accounting.posting.books import FxBook, PeriodBook, gl_roles
from accounting.posting.rules import DraftLine
from accounting.posting.writer import DraftEntry, entries_write, price_lines

_ids = itertools.count(1_000_000)


def post_entry(*, lines: list[tuple[str, str | Decimal] | tuple[str, str | Decimal, str | Decimal]], entry_date: date,
               currency: str = "USD", account=None, instrument=None, source_type: str = "MANUAL",
               source_id: int | None = None, rule: str = "TEST", description: str = "test entry",
               actor=None) -> JournalEntry:
    """Post one entry of (role, amount[, quantity]) lines (debit positive) in currency on entry_date."""
    draft = DraftEntry(
        source_type=source_type, source_id=source_id if source_id is not None else next(_ids), rule=rule,
        event_date=entry_date, currency=currency, description=description,
        lines=[DraftLine(line[0], Decimal(str(line[1])), Decimal(str(line[2])) if len(line) > 2 else Decimal(0))
               for line in lines],
        account_id=getattr(account, "pk", account), instrument_id=getattr(instrument, "pk", instrument))
    with transaction.atomic():
        price_lines(draft, FxBook([currency], until=entry_date))
        entries_write([draft], roles=gl_roles(), periods=PeriodBook.load(), job_id=None, actor=actor,
                      reason="test")
    return JournalEntry.objects.get(pk=draft.id)
