"""Maker-checker kinds of accounting/journals, registered with records' approvals (loaded by AccountingConfig.ready).

- "journal.manual": a manual journal entry {"entry_date", "currency", "description", "account" (trading
  account code or null), "lines": [{"gl_account", "debit" or "credit", "account", "instrument"}]}; approved,
  it is posted with source MANUAL and source_id the change request's id. Several may await approval at once.
- "journal.reversal": {"entry": id, "entry_date": date or null (the day it is approved)} reverses a manual
  entry; one proposal per entry at a time.

Accounting proposes; another accounting user approves, which calls accounting.journals.services.
"""

from datetime import date
from decimal import Decimal

from django.utils import timezone

from accounting.journals import selectors, services
from accounting.journals.validators import manual_entry_parse, reversal_check
from backoffice.core import roles
from backoffice.core.exceptions import BusinessRuleError
from backoffice.core.fields import InputError, format_decimal, parse_date
from records.approvals.kinds import Payload, register_change_kind
from records.approvals.services import applied_reason, change_being_applied

JOURNAL_MANUAL = "journal.manual"
JOURNAL_REVERSAL = "journal.reversal"
TARGET_TYPE = "accounting.journalentry"


# Manual entries ------------------------------------------------------------------------------------

def _manual_validate(payload: Payload) -> Payload:
    return manual_entry_parse(payload).payload()


def _manual_target(payload: Payload):
    return TARGET_TYPE, f"new {payload['entry_date']} {payload['currency']}", None


def _manual_describe(payload: Payload) -> str:
    return (f"Manual entry {payload['entry_date']}: {_debits(payload)} {payload['currency']} over "
            f"{len(payload['lines'])} lines: {payload['description']}")


def _debits(payload: Payload) -> str:
    """The debits of a canonical payload, as text (for the one-line summary)."""
    return format_decimal(sum((Decimal(line["debit"]) for line in payload["lines"] if line.get("debit")),
                              Decimal(0)))


def _manual_apply(payload: Payload, actor) -> dict:
    entry = manual_entry_parse(payload)
    change = change_being_applied()
    # The trial run at proposal time has no change request yet: 0 stands in, and is rolled back.
    source_id = change.pk if change is not None and change.pk is not None else 0
    posted = services.journal_manual_post(actor=actor, entry=entry, source_id=source_id,
                                          reason=applied_reason(default="manual journal entry"))
    return {"journal_entry": posted.pk, "entry_date": posted.entry_date.isoformat()}


# Reversals -----------------------------------------------------------------------------------------

def _entry(payload: Payload):
    entry_id = payload.get("entry")
    if isinstance(entry_id, bool) or not isinstance(entry_id, int):
        raise BusinessRuleError("A journal entry id.", field="entry")
    entry = selectors.journal_entry_get(entry_id)
    if entry is None:
        raise BusinessRuleError(f"Unknown journal entry {entry_id}.", field="entry")
    return entry


def _reversal_date(payload: Payload) -> date:
    value = payload.get("entry_date")
    if value in (None, ""):
        return timezone.localdate()
    try:
        return parse_date(value)
    except InputError as exc:
        raise BusinessRuleError(exc.message, field="entry_date") from None


def _reversal_validate(payload: Payload) -> Payload:
    unknown = sorted(set(payload) - {"entry", "entry_date"})
    if unknown:
        raise BusinessRuleError("Unknown field; expected entry, entry_date.", field=unknown[0])
    entry = _entry(payload)
    day = _reversal_date(payload)
    reversal_check(entry, day)
    return {"entry": entry.pk, "entry_date": day.isoformat() if payload.get("entry_date") else None}


def entry_view(entry) -> dict:
    debits = sum((line.amount for line in entry.lines.all() if line.amount > 0), Decimal(0))
    return {"entry": entry.pk, "entry_date": entry.entry_date.isoformat(), "currency": entry.currency,
            "debits": format_decimal(debits), "description": entry.description,
            "reversed_by": entry.reversed_by.pk if getattr(entry, "reversed_by", None) else None}


def _reversal_target(payload: Payload):
    return TARGET_TYPE, str(payload["entry"]), entry_view(_entry(payload))


def _reversal_preview(payload: Payload, before: dict | None) -> dict:
    return {**(before or {}), "reversed_by": "the reversal, once approved",
            "reversal_date": payload.get("entry_date") or "the day it is approved"}


def _reversal_describe(payload: Payload) -> str:
    entry = _entry(payload)
    when = payload.get("entry_date") or "the day it is approved"
    return f"Reverse journal entry {entry.pk} ({entry.entry_date.isoformat()}, {entry.description}) on {when}"


def _reversal_apply(payload: Payload, actor) -> dict:
    entry = _entry(payload)
    posted = services.journal_entry_reverse(actor=actor, entry_id=entry.pk, entry_date=_reversal_date(payload),
                                            reason=applied_reason(default=f"reversal of journal entry {entry.pk}"))
    return {"journal_entry": posted.pk, "reversal_of": entry.pk, "entry_date": posted.entry_date.isoformat()}


register_change_kind(
    JOURNAL_MANUAL, label="manual journal entry", apply=_manual_apply, validate=_manual_validate,
    target=_manual_target, describe=_manual_describe, approver_roles=(roles.ACCOUNTING,),
    proposer_roles=(roles.ACCOUNTING,), exclusive=False)
register_change_kind(
    JOURNAL_REVERSAL, label="journal entry reversal", apply=_reversal_apply, validate=_reversal_validate,
    target=_reversal_target, describe=_reversal_describe, preview=_reversal_preview,
    approver_roles=(roles.ACCOUNTING,), proposer_roles=(roles.ACCOUNTING,))
