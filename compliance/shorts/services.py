"""The writes of short-sale compliance: locates and borrows recorded and ended, a penalty-box entry released.

Each is atomic and audited in the same transaction.

Ending a locate or borrow on day T (timezone.localdate()) never deletes it and never rewrites what it covered,
as the restricted list's restricted_end:
- it had started (valid_from < T): valid_to becomes T - 1 (a borrow returned, a locate withdrawn), so short
  sales dated T and later are no longer covered by it, those dated before still are;
- it starts today or later (valid_from >= T): it is withdrawn (ended_at on or before its first day, its dates
  kept), so it never covers anything (selectors.locate_in_force_on);
- it had already ended (ended before, or valid_to < T): ConflictError.
Who ended it, when and why are recorded on it and in its audit record.
"""

from datetime import date, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from backoffice.core.exceptions import BusinessRuleError, ConflictError
from backoffice.core.fields import QUANTITY, InputError, parse_decimal, parse_text
from compliance.shorts.models import Locate, PenaltyBoxEntry
from records.audit.services.audit import Actor, audit_log, snapshot
from records.reference.models import Account, Instrument

REASON_MAX_LENGTH = 500
SOURCE_MAX_LENGTH = 200
REFERENCE_MAX_LENGTH = 100


def _text(value, *, field: str, max_length: int = REASON_MAX_LENGTH, allow_blank: bool = False) -> str:
    try:
        return parse_text(value, max_length=max_length, allow_blank=allow_blank)
    except InputError as exc:
        raise BusinessRuleError(exc.message, field=field, code=exc.code) from None


def _user(actor: Actor):
    return actor if getattr(actor, "is_authenticated", False) else None


@transaction.atomic
def locate_create(*, actor: Actor, account: Account, instrument: Instrument, kind: str, quantity, source: str,
                  reference: str, valid_from: date, valid_to: date | None = None) -> Locate:
    """Record a locate or a borrow of quantity shares of instrument for account's short sales.

    A LOCATE covers trade dates valid_from to valid_to (default valid_from: good for its day); a BORROW
    valid_from on until returned (valid_to None) unless valid_to is given. The reference is unique:
    a used one is a ConflictError. Source and reference are required, printable.
    """
    if kind not in Locate.Kind.values:
        raise BusinessRuleError(f"Must be one of {', '.join(Locate.Kind.values)}.", field="kind")
    try:
        quantity = parse_decimal(quantity, kind=QUANTITY, positive=True)
    except InputError as exc:
        raise BusinessRuleError(exc.message, field="quantity", code=exc.code) from None
    source = _text(source, field="source", max_length=SOURCE_MAX_LENGTH)
    reference = _text(reference, field="reference", max_length=REFERENCE_MAX_LENGTH)
    if valid_to is None and kind == Locate.Kind.LOCATE:
        valid_to = valid_from
    if valid_to is not None and valid_to < valid_from:
        raise BusinessRuleError("Must not be before valid_from.", field="valid_to")
    if Locate.objects.filter(reference=reference).exists():
        raise ConflictError(f"A locate or borrow with reference {reference!r} is already recorded.")
    try:
        with transaction.atomic():
            locate = Locate.objects.create(account=account, instrument=instrument, kind=kind, quantity=quantity,
                                           source=source, reference=reference, valid_from=valid_from,
                                           valid_to=valid_to, created_by=_user(actor))
    except IntegrityError:  # the same reference recorded meanwhile by another request
        raise ConflictError(f"A locate or borrow with reference {reference!r} is already recorded.") from None
    audit_log(actor=actor, action="CREATE", instance=locate, after=snapshot(locate),
              reason=f"{kind.lower()} {reference} from {source}")
    return locate


@transaction.atomic
def locate_end(*, actor: Actor, locate_id: int, reason: str = "") -> Locate:
    """End a locate or borrow from today on (see the module's docstring); ConflictError when already over."""
    reason = _text(reason, field="reason", allow_blank=True)
    locate = (Locate.objects.select_for_update(of=("self",)).select_related("account", "instrument")
              .filter(pk=locate_id).first())
    if locate is None:
        raise BusinessRuleError(f"Unknown locate or borrow {locate_id}.", field="id")
    today = timezone.localdate()
    if locate.ended_at is not None:
        raise ConflictError(f"{locate.get_kind_display()} {locate.pk} was already ended on "
                            f"{timezone.localtime(locate.ended_at).date().isoformat()}.")
    if locate.valid_to is not None and locate.valid_to < today:
        raise ConflictError(f"{locate.get_kind_display()} {locate.pk} is already over: its last day was "
                            f"{locate.valid_to.isoformat()}.")
    before = snapshot(locate)
    if locate.valid_from < today:
        locate.valid_to = today - timedelta(days=1)
    # else withdrawn: ended on or before its first day, it never covers anything (its dates are kept).
    locate.ended_by, locate.ended_at, locate.end_reason = _user(actor), timezone.now(), reason
    locate.save(update_fields=["valid_to", "ended_by", "ended_at", "end_reason"])
    default = "borrow returned" if locate.kind == Locate.Kind.BORROW else "locate withdrawn"
    audit_log(actor=actor, action="UPDATE", instance=locate, before=before, after=snapshot(locate),
              reason=reason or default)
    return locate


@transaction.atomic
def penalty_box_release(*, actor: Actor, entry_id: int, reason: str) -> PenaltyBoxEntry:
    """Release an account from the penalty box for an instrument, today; ConflictError if already released.

    The reason is required (printable, at most 500 characters). The caller checks the role (compliance).
    """
    reason = _text(reason, field="reason")
    entry = (PenaltyBoxEntry.objects.select_for_update(of=("self",)).select_related("account", "instrument")
             .filter(pk=entry_id).first())
    if entry is None:
        raise BusinessRuleError(f"Unknown penalty-box entry {entry_id}.", field="id")
    if entry.released_on is not None:
        raise ConflictError(f"Penalty-box entry {entry.pk} was already released on {entry.released_on.isoformat()}.")
    before = snapshot(entry)
    entry.released_on, entry.released_by, entry.release_reason = timezone.localdate(), _user(actor), reason
    entry.save(update_fields=["released_on", "released_by", "release_reason"])
    audit_log(actor=actor, action="UPDATE", instance=entry, before=before, after=snapshot(entry), reason=reason)
    return entry
