"""Manual journal entries and their reversals, posted when another accounting user approves them. Each audited.

Reached through maker-checker only ("journal.manual" and "journal.reversal", accounting/journals/kinds.py).
A manual entry is posted as the approver with source MANUAL, source_id the change request's id and rule
MANUAL; a reversal mirrors a manual entry (every line with its sign flipped, at the original's rate) with
rule MANUAL_REVERSAL keyed on the original's id, so each is posted at most once.

Unlike the posting engine's entries (accounting/posting/writer.py), a manual entry is never re-dated past a
closed period: it is refused, naming the period. Its lines may each carry their own trading account and
instrument, which the engine's writer does not take, so the entry and its lines are inserted here; the
database's guards apply the same (each INSERT of lines balances, no entry in a closed period, append-only).
"""

from datetime import date
from decimal import Decimal

from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from accounting.journals.validators import (
    MANUAL_RULE,
    REVERSAL_RULE,
    ManualEntry,
    closed_period_message,
    reversal_check,
)
from accounting.models import JournalEntry, JournalLine
from accounting.posting.books import PeriodBook
from accounting.posting.rules import DraftLine
from accounting.posting.writer import DraftEntry, price_lines
from backoffice.core.exceptions import BusinessRuleError, ConflictError
from backoffice.core.fields import format_decimal
from records.audit.services.audit import Actor, actor_fields, audit_log


def _require_open(day: date, *, field: str = "entry_date") -> None:
    """Refuse a date in a closed period, holding a share lock on the periods so none closes meanwhile. Call inside
    an atomic block."""
    if PeriodBook.load(lock=True).is_closed(day):
        raise BusinessRuleError(closed_period_message(day), field=field)


def _insert(*, actor: Actor, entry: JournalEntry, lines: list[JournalLine], reason: str) -> JournalEntry:
    """Insert the entry and its lines (one statement, so the balance guard sees them all) and audit it."""
    user, _ = actor_fields(actor)
    entry.posted_at = timezone.now()
    entry.posted_by = user
    try:
        with transaction.atomic():
            entry.save(force_insert=True)
            for line in lines:
                line.entry = entry
                line.entry_date = entry.entry_date
            JournalLine.objects.bulk_create(lines)
    except IntegrityError as exc:
        if "journalentry_once_per_source_and_rule" in str(exc) or "reversal_of" in str(exc):
            raise ConflictError("This entry is already posted.") from None
        raise BusinessRuleError(f"The ledger refused the entry: {str(exc).splitlines()[0]}") from None
    except DatabaseError as exc:  # a guard of accounting/migrations/0002_ledger_guards.py
        raise BusinessRuleError(f"The ledger refused the entry: {str(exc).splitlines()[0]}") from None
    debits = sum((line.amount for line in lines if line.amount > 0), Decimal(0))
    audit_log(actor=actor, action="CREATE", instance=entry, after={
        "entry_date": entry.entry_date.isoformat(), "currency": entry.currency, "rule": entry.rule,
        "source": f"{entry.source_type}:{entry.source_id}:{entry.source_version}",
        "reversal_of": entry.reversal_of_id, "description": entry.description, "debits": format_decimal(debits),
        "lines": [{"gl_account": line.gl_account.code, "amount": format_decimal(line.amount),
                   "base_amount": format_decimal(line.base_amount),
                   "account": line.account.code if line.account is not None else None,
                   "instrument": line.instrument.isin if line.instrument is not None else None}
                  for line in lines]}, reason=reason)
    return entry


@transaction.atomic
def journal_manual_post(*, actor: Actor, entry: ManualEntry, source_id: int, reason: str = "") -> JournalEntry:
    """Post a manual entry (checked by accounting.journals.validators.manual_entry_parse) as source MANUAL
    source_id (the change request). BusinessRuleError when its period has closed since; ConflictError when that
    change request's entry is already posted."""
    _require_open(entry.entry_date)
    draft = DraftEntry(source_type=JournalEntry.Source.MANUAL, source_id=source_id, rule=MANUAL_RULE,
                       event_date=entry.entry_date, currency=entry.currency, description=entry.description,
                       lines=[DraftLine(str(number), line.amount, Decimal(0))
                              for number, line in enumerate(entry.lines)],
                       fx_rate=entry.fx_rate)
    # Base amounts at the entry date's rate, the largest line taking the rounding (as the engine prices).
    price_lines(draft, fx=None)
    row = JournalEntry(entry_date=entry.entry_date, event_date=entry.entry_date, source_type=draft.source_type,
                       source_id=source_id, rule=MANUAL_RULE, account=entry.account, currency=entry.currency,
                       description=entry.description[:200])
    lines = [JournalLine(gl_account=line.gl_account, account=line.account, instrument=line.instrument,
                         currency=entry.currency, amount=line.amount, base_amount=priced.base_amount,
                         fx_rate=draft.fx_rate, quantity=Decimal(0))
             for line, priced in zip(entry.lines, draft.lines, strict=True)]
    return _insert(actor=actor, entry=row, lines=lines, reason=reason or "manual journal entry")


@transaction.atomic
def journal_entry_reverse(*, actor: Actor, entry_id: int, entry_date: date, reason: str = "") -> JournalEntry:
    """Post the reversal of a manual entry, dated entry_date: each of its lines with the sign flipped, at its
    rate and base amounts. ConflictError when it is reversed already, is a reversal or was posted by the engine;
    BusinessRuleError for a date before it or in a closed period."""
    original = (JournalEntry.objects.select_for_update(no_key=True, of=("self",))
                .select_related("reversed_by").filter(pk=entry_id).first())
    if original is None:
        raise BusinessRuleError(f"Unknown journal entry {entry_id}.", field="entry")
    reversal_check(original, entry_date)
    _require_open(entry_date)
    row = JournalEntry(entry_date=entry_date, event_date=entry_date, source_type=JournalEntry.Source.MANUAL,
                       source_id=original.pk, rule=REVERSAL_RULE, reversal_of=original, account=original.account,
                       instrument=original.instrument, currency=original.currency,
                       description=f"Reversal of entry {original.pk}: {original.description}"[:200])
    lines = [JournalLine(gl_account=line.gl_account, account=line.account, instrument=line.instrument,
                         currency=line.currency, amount=-line.amount, base_amount=-line.base_amount,
                         fx_rate=line.fx_rate, quantity=-line.quantity)
             for line in original.lines.select_related("gl_account", "account", "instrument").order_by("id")]
    return _insert(actor=actor, entry=row, lines=lines, reason=reason or f"reversal of journal entry {original.pk}")
