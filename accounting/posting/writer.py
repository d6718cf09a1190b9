"""Writing drafted entries: ids, posting dates, base amounts, then COPY of entries, lines and audit records.

Call inside the chunk's (or the service's) transaction. The database checks what matters on the
way in (accounting/migrations/0002_ledger_guards.py): each statement's lines balance per entry,
in every currency and in base; no entry lands in a closed period; the unique key per source event
and rule refuses a second posting.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.utils import timezone

from accounting.models import JournalEntry, JournalLine
from accounting.posting.books import FxBook, PeriodBook, Unpostable, round_amount
from accounting.posting.rules import DraftLine
from backoffice.core.bulk import allocate_ids, batch_value, insert_rows
from records.audit.services.audit import AuditEntry, CanonicalJSON, actor_fields, audit_log_bulk

ENTRY_COLUMNS = ("id", "entry_date", "event_date", "source_type", "source_id", "source_version", "rule",
                 "generation", "reversal_of_id", "account_id", "instrument_id", "currency", "description", "job_id",
                 "posted_at", "posted_by_id")
LINE_COLUMNS = ("entry_id", "gl_account_id", "account_id", "instrument_id", "currency", "amount", "base_amount",
                "fx_rate", "quantity", "entry_date")
_RECORD_TYPE = "accounting.journalentry"


@dataclass
class DraftEntry:
    """An entry about to be posted. Lines name GL roles; a reversal's lines carry their base amounts."""

    source_type: str
    source_id: int
    rule: str
    event_date: date
    currency: str
    description: str
    lines: list[DraftLine]
    account_id: int | None = None
    instrument_id: int | None = None
    source_version: int = 0
    generation: int = 0
    reversal_of: int | None = None
    fx_rate: Decimal | None = None  # a reversal keeps the rate of the entry it reverses
    id: int | None = None
    line_rows: list[tuple] = field(default_factory=list)


def price_lines(draft: DraftEntry, fx: FxBook) -> None:
    """Give each line its base amount at the event date's rate; the largest line takes the rounding, so
    the entry balances in base to the last cent. Raise Unpostable when no rate is stored."""
    rate = draft.fx_rate if draft.fx_rate is not None else fx.rate(draft.currency, draft.event_date)
    draft.fx_rate = rate
    priced = [line for line in draft.lines if line.base_amount is None]
    for line in priced:
        line.base_amount = round_amount(line.amount * rate)
    off = sum((line.base_amount for line in draft.lines), Decimal(0))
    if off and priced:
        max(priced, key=lambda line: abs(line.amount)).base_amount -= off
    elif off:
        raise Unpostable(f"entry for {draft.source_type} {draft.source_id} does not balance in base by {off}")


def entries_write(drafts: list[DraftEntry], *, roles: dict[str, int], periods: PeriodBook, job_id: int | None,
                  actor, reason: str) -> list[DraftEntry]:
    """Post drafts (already priced): allocate ids, date them past closed periods, COPY entries, lines and
    one audit record per entry. Return the drafts with their ids."""
    if not drafts:
        return drafts
    now = timezone.now()
    posted_at = batch_value(now)
    user, _ = actor_fields(actor)
    user_id = user.pk if user is not None else None
    ids = allocate_ids(JournalEntry, len(drafts))
    entry_rows, line_rows, audits = [], [], []
    for draft, entry_id in zip(drafts, ids, strict=True):
        draft.id = entry_id
        entry_date = periods.posting_date(draft.event_date)
        entry_rows.append((entry_id, entry_date, draft.event_date, draft.source_type, draft.source_id,
                           draft.source_version, draft.rule, draft.generation, draft.reversal_of, draft.account_id,
                           draft.instrument_id, draft.currency, draft.description[:200], job_id, posted_at, user_id))
        total = Decimal(0)
        for line in draft.lines:
            gl_id = line.role if isinstance(line.role, int) else roles[line.role]
            line_rows.append((entry_id, gl_id, draft.account_id, draft.instrument_id, draft.currency,
                              line.amount, line.base_amount, draft.fx_rate, line.quantity, entry_date))
            if line.amount > 0:
                total += line.amount
        source = f"{draft.source_type}:{draft.source_id}:{draft.source_version}"
        audits.append(AuditEntry(_RECORD_TYPE, str(entry_id), None, CanonicalJSON(
            f'{{"currency":"{draft.currency}","debits":"{total}","entry_date":"{entry_date.isoformat()}",'
            f'"lines":{len(draft.lines)},"rule":"{draft.rule}","source":"{source}"}}')))
    insert_rows(JournalEntry, ENTRY_COLUMNS, entry_rows)
    insert_rows(JournalLine, LINE_COLUMNS, line_rows)
    audit_log_bulk(actor=actor, action="CREATE", entries=audits, reason=reason)
    return drafts


def role_of(roles: dict[str, int]) -> dict[int, str]:
    return {gl_id: role for role, gl_id in roles.items()}


def reversal_of(entry_id: int, lines: list[tuple[str, Decimal, Decimal, Decimal]], *, rule: str, event_date: date,
                source: tuple[str, int, int, int], account_id, instrument_id, currency: str, fx_rate: Decimal,
                description: str) -> DraftEntry:
    """The draft reversing an entry: each of its lines (role, amount, base amount, quantity) with the sign flipped."""
    source_type, source_id, version, generation = source
    return DraftEntry(source_type=source_type, source_id=source_id, source_version=version, generation=generation,
                      rule=rule, event_date=event_date, currency=currency, description=description,
                      lines=[DraftLine(role, -amount, -quantity, -base) for role, amount, base, quantity in lines],
                      account_id=account_id, instrument_id=instrument_id, reversal_of=entry_id, fx_rate=fx_rate)
