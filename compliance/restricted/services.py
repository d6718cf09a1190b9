"""The restricted list's writes: add an entry, end one. Each is atomic and audited.

Ending an entry on day T (timezone.localdate()) never deletes it, and never rewrites what it did:
- it had started (effective_from < T): effective_to becomes T - 1, so trades dated T and later book
  while those dated before stay refused;
- it starts today or later (effective_from >= T): it is withdrawn (withdrawn = True, its dates kept),
  so it never restricts anything;
- it had already ended (ended or withdrawn before, or effective_to < T): ConflictError.
Who ended it, when and why are recorded on the entry and in its audit record.
"""

from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone

from backoffice.core.exceptions import BusinessRuleError, ConflictError
from backoffice.core.fields import InputError, parse_text
from compliance.restricted.models import RestrictedInstrument
from records.audit.services.audit import Actor, audit_log, snapshot
from records.reference.models import Instrument

REASON_MAX_LENGTH = 500


def _text(value, *, field: str, allow_blank: bool = False) -> str:
    try:
        return parse_text(value, max_length=REASON_MAX_LENGTH, allow_blank=allow_blank)
    except InputError as exc:
        raise BusinessRuleError(exc.message, field=field, code=exc.code) from None


def _user(actor: Actor):
    return actor if getattr(actor, "is_authenticated", False) else None


@transaction.atomic
def restricted_create(*, actor: Actor, instrument: Instrument, reason: str, effective_from: date,
                      effective_to: date | None = None) -> RestrictedInstrument:
    """Put an instrument on the restricted list for trade dates effective_from to effective_to (None: until ended).

    reason is required (printable, at most 500 characters); effective_to may not be before effective_from.
    """
    reason = _text(reason, field="reason")
    if effective_to is not None and effective_to < effective_from:
        raise BusinessRuleError("Must not be before effective_from.", field="effective_to")
    entry = RestrictedInstrument.objects.create(instrument=instrument, reason=reason, effective_from=effective_from,
                                                effective_to=effective_to, created_by=_user(actor))
    audit_log(actor=actor, action="CREATE", instance=entry, after=snapshot(entry), reason=reason)
    return entry


@transaction.atomic
def restricted_end(*, actor: Actor, entry_id: int, reason: str = "") -> RestrictedInstrument:
    """End an entry from today on (see the module's docstring); ConflictError when it has already ended."""
    reason = _text(reason, field="reason", allow_blank=True)
    entry = (RestrictedInstrument.objects.select_for_update(of=("self",)).select_related("instrument")
             .filter(pk=entry_id).first())
    if entry is None:
        raise BusinessRuleError(f"Unknown restricted-list entry {entry_id}.", field="id")
    today = timezone.localdate()
    if entry.ended_at is not None or entry.withdrawn:
        raise ConflictError(f"Restricted-list entry {entry.pk} was already ended on "
                            f"{timezone.localtime(entry.ended_at).date().isoformat()}.")
    if entry.effective_to is not None and entry.effective_to < today:
        raise ConflictError(f"Restricted-list entry {entry.pk} already ended on its own: its last day was "
                            f"{entry.effective_to.isoformat()}.")
    before = snapshot(entry)
    if entry.effective_from < today:
        entry.effective_to = today - timedelta(days=1)
    else:
        entry.withdrawn = True
    entry.ended_by, entry.ended_at, entry.end_reason = _user(actor), timezone.now(), reason
    entry.save(update_fields=["effective_to", "withdrawn", "ended_by", "ended_at", "end_reason"])
    audit_log(actor=actor, action="UPDATE", instance=entry, before=before, after=snapshot(entry),
              reason=reason or "restricted-list entry ended")
    return entry
