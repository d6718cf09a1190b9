"""Resolving breaks: confirmations that did not match (UNMATCHED) or matched with differences (MISMATCHED).

Operations resolves each with a reason, kept on the confirmation and in the audit trail:

- force-match: link it to a trade despite the differences. It changes a trade (the trade becomes
  MATCHED), so it goes through maker-checker: confirmation_resolve proposes the change
  "confirmation.force_match" (clearing.matching.kinds), and confirmation_force_match applies it
  when a different operations user approves;
- reject: the confirmation is wrong (REJECTED, resolution REJECTED);
- request a new confirmation: REJECTED with resolution NEW_REQUESTED; the counterparty may send it
  again under a new reference.

Every writer holds the matching lock of the confirmation's (counterparty, instrument) key, as the
matching passes do, before it locks the confirmation.
"""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from backoffice.core.exceptions import BusinessRuleError, ConflictError
from clearing.matching.services.matching import (
    DEAD_TRADE_STATUSES,
    MATCHED,
    OPEN_STATUSES,
    confirmations_match,
    match_keys_lock,
    terms_differences,
    trade_match_status_refresh,
    trade_terms_get,
)
from clearing.models import Confirmation
from records.approvals import selectors as approval_selectors
from records.approvals import services as approvals
from records.approvals.models import ChangeRequest
from records.audit.models import Actor
from records.audit.services.audit import actor_fields, audit_log, snapshot
from records.trades.models import Trade

FORCE_MATCH = "confirmation.force_match"

FORCE_MATCH_ACTION = "force_match"
REJECT_ACTION = "reject"
REQUEST_NEW_ACTION = "request_new"
ACTIONS = (FORCE_MATCH_ACTION, REJECT_ACTION, REQUEST_NEW_ACTION)


def _require_reason(reason) -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise BusinessRuleError("A reason is required.", field="reason")
    return reason.strip()


def _confirmation_locked(confirmation_id: int, *, extra_keys=()) -> Confirmation:
    """The confirmation, locked after its matching key (and extra_keys) are. Call inside an atomic block."""
    found = Confirmation.objects.filter(pk=confirmation_id).values_list("counterparty_id", "instrument_id").first()
    if found is None:
        raise BusinessRuleError("Confirmation not found.", field="confirmation")
    match_keys_lock(keys=[found, *extra_keys])
    return (Confirmation.objects.select_for_update(of=("self",))
            .select_related("counterparty", "account", "instrument").get(pk=confirmation_id))


def _require_open(confirmation: Confirmation) -> None:
    if confirmation.match_status not in OPEN_STATUSES:
        raise ConflictError(f"Confirmation {confirmation.pk} is {confirmation.match_status.lower()}: "
                            "only an unmatched or mismatched one can be resolved.")


def _require_no_pending_force_match(confirmation: Confirmation) -> None:
    pending = approval_selectors.change_request_pending(kind=FORCE_MATCH, target_id=confirmation.pk)
    if pending is not None:
        raise ConflictError(f"Force-match #{pending.pk} of confirmation {confirmation.pk} awaits approval: it must be "
                            "rejected or withdrawn first.")


def _resolve(confirmation: Confirmation, *, actor: Actor, status: str, resolution: str, reason: str) -> None:
    user, _label = actor_fields(actor)
    confirmation.match_status = status
    confirmation.resolution = resolution
    confirmation.resolution_reason = reason
    confirmation.resolved_by = user
    confirmation.resolved_at = timezone.now()


@transaction.atomic
def confirmation_reject(*, actor: Actor, confirmation_id: int, reason: str,
                        request_new: bool = False) -> Confirmation:
    """Reject an open confirmation (REJECTED); with request_new, ask the counterparty for a new one
    (resolution NEW_REQUESTED). The trade it was compared with is freed of it."""
    reason = _require_reason(reason)
    confirmation = _confirmation_locked(confirmation_id)
    _require_open(confirmation)
    _require_no_pending_force_match(confirmation)
    before = snapshot(confirmation)
    resolution = Confirmation.Resolution.NEW_REQUESTED if request_new else Confirmation.Resolution.REJECTED
    _resolve(confirmation, actor=actor, status=Confirmation.MatchStatus.REJECTED, resolution=resolution,
             reason=reason)
    confirmation.save(update_fields=["match_status", "resolution", "resolution_reason", "resolved_by",
                                     "resolved_at"])
    audit_log(actor=actor, action="TRANSITION", instance=confirmation, before=before, after=snapshot(confirmation),
              reason=reason)
    if confirmation.trade_id:
        trade_match_status_refresh(actor=actor, trade_ids=[confirmation.trade_id],
                                   reason=f"confirmation {confirmation.pk} rejected: {reason}")
    return confirmation


def confirmation_request_new(*, actor: Actor, confirmation_id: int, reason: str) -> Confirmation:
    """Reject an open confirmation and ask the counterparty for a new one (they resend under a new reference)."""
    return confirmation_reject(actor=actor, confirmation_id=confirmation_id, reason=reason, request_new=True)


@transaction.atomic
def confirmation_force_match(*, actor: Actor, confirmation_id: int, trade_id: int, reason: str) -> Confirmation:
    """Match an open confirmation to a trade despite their differences (kept in mismatches, as overridden).

    Applied by maker-checker (kind confirmation.force_match) once a second user approves. The trade
    must be with the same counterparty, neither cancelled nor rejected, and not matched already.
    Open confirmations that showed the trade as their closest candidate are matched again.
    """
    reason = _require_reason(reason)
    trade = Trade.objects.select_for_update().filter(pk=trade_id).first()
    if trade is None:
        raise BusinessRuleError(f"Unknown trade {trade_id}.", field="trade")
    # The confirmations showing the trade as their closest candidate are matched again below: every key
    # this needs is locked at once, before any confirmation row.
    others = list(Confirmation.objects.filter(trade_id=trade.pk, match_status__in=OPEN_STATUSES)
                  .exclude(pk=confirmation_id).values_list("pk", "counterparty_id", "instrument_id"))
    confirmation = _confirmation_locked(confirmation_id, extra_keys=[
        (trade.counterparty_id, trade.instrument_id), *((cp, instrument) for _pk, cp, instrument in others)])
    _require_open(confirmation)
    if trade.counterparty_id != confirmation.counterparty_id:
        raise BusinessRuleError(f"Trade {trade.pk} is with another counterparty.", field="trade")
    if trade.status in DEAD_TRADE_STATUSES:
        raise ConflictError(f"Trade {trade.pk} is {trade.status.lower()}: it cannot be matched.")
    if trade.match_status == MATCHED:
        raise ConflictError(f"Trade {trade.pk} is already matched to a confirmation.")
    terms = trade_terms_get(trade.pk)
    before = snapshot(confirmation)
    old_trade = confirmation.trade_id
    _resolve(confirmation, actor=actor, status=MATCHED, resolution=Confirmation.Resolution.FORCE_MATCHED,
             reason=reason)
    confirmation.trade_id = trade.pk
    confirmation.matched_at = confirmation.resolved_at
    confirmation.mismatches = terms_differences(confirmation, terms, account_code=_code(confirmation, "account"),
                                                isin=_code(confirmation, "instrument"))
    confirmation.save(update_fields=["match_status", "trade", "matched_at", "mismatches", "resolution",
                                     "resolution_reason", "resolved_by", "resolved_at"])
    audit_log(actor=actor, action="TRANSITION", instance=confirmation, before=before, after=snapshot(confirmation),
              reason=reason)
    label = f"Confirmation {confirmation.counterparty.code} {confirmation.counterparty_ref} (#{confirmation.pk})"
    trade_match_status_refresh(actor=actor, trade_ids=[trade.pk, *([old_trade] if old_trade else [])],
                               reason=f"force-matched: {reason}",
                               event_reasons={trade.pk: f"{label} force-matched: {reason}"})
    if others:
        confirmations_match(actor=actor, confirmation_ids=[pk for pk, _cp, _instrument in others],
                            reason=f"trade {trade.pk} force-matched")
    return confirmation


def _code(confirmation: Confirmation, name: str) -> str:
    if name == "account":
        return confirmation.account.code
    return confirmation.instrument.isin


@dataclass(frozen=True)
class Resolution:
    """What resolving a break did: the confirmation as it now is, or the force-match proposed."""

    confirmation: Confirmation | None = None
    change: ChangeRequest | None = None


def confirmation_resolve(*, actor: Actor, confirmation_id: int, action: str, reason: str,
                         trade_id: int | None = None) -> Resolution:
    """Resolve a break: force_match (proposes the change for approval), reject or request_new (done now)."""
    if action not in ACTIONS:
        raise BusinessRuleError(f"{action!r} is not a valid choice ({', '.join(ACTIONS)}).", field="action")
    reason = _require_reason(reason)
    if action == FORCE_MATCH_ACTION:
        if trade_id is None:
            raise BusinessRuleError("Name the trade to match it to.", field="trade")
        return Resolution(change=approvals.change_propose(
            actor=actor, kind=FORCE_MATCH, reason=reason,
            payload={"confirmation_id": confirmation_id, "trade_id": trade_id}))
    return Resolution(confirmation=confirmation_reject(actor=actor, confirmation_id=confirmation_id, reason=reason,
                                                       request_new=action == REQUEST_NEW_ACTION))
