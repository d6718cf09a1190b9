"""Clearing's kind of maker-checker change: force-matching a confirmation to a trade (loaded by ClearingConfig.ready).

Registered with records.approvals.kinds.register_change_kind, as records registers its own: the
payload names the confirmation and the trade by id; applying it calls
clearing.matching.services.breaks.confirmation_force_match as the approver. Operations proposes,
another operations user approves.
"""

from backoffice.core import roles
from backoffice.core.exceptions import BusinessRuleError
from backoffice.core.fields import format_decimal
from clearing.matching.services.breaks import FORCE_MATCH, confirmation_force_match
from clearing.matching.services.matching import OPEN_STATUSES, terms_differences, trade_terms_get
from clearing.models import Confirmation
from records.approvals.kinds import Payload, register_change_kind
from records.approvals.services import applied_reason

_FIELDS = ("confirmation_id", "trade_id")


def _id(payload: Payload, name: str) -> int:
    value = payload.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise BusinessRuleError("An id (a positive whole number).", field=name)
    return value


def _confirmation(confirmation_id: int) -> Confirmation:
    confirmation = (Confirmation.objects.select_related("counterparty", "account", "instrument")
                    .filter(pk=confirmation_id).first())
    if confirmation is None:
        raise BusinessRuleError(f"Unknown confirmation {confirmation_id}.", field="confirmation_id")
    return confirmation


def _validate(payload: Payload) -> Payload:
    unknown = sorted(set(payload) - set(_FIELDS))
    if unknown:
        raise BusinessRuleError(f"Unknown field; expected one of {', '.join(_FIELDS)}.", field=unknown[0])
    confirmation = _confirmation(_id(payload, "confirmation_id"))
    if confirmation.match_status not in OPEN_STATUSES:
        raise BusinessRuleError(f"Confirmation {confirmation.pk} is {confirmation.match_status.lower()}: only an "
                                "unmatched or mismatched one can be force-matched.", field="confirmation_id")
    trade_id = _id(payload, "trade_id")
    if trade_terms_get(trade_id) is None:
        raise BusinessRuleError(f"Unknown trade {trade_id}.", field="trade_id")
    return {"confirmation_id": confirmation.pk, "trade_id": trade_id}


def _view(confirmation: Confirmation) -> dict:
    return {"counterparty": confirmation.counterparty.code, "counterparty_ref": confirmation.counterparty_ref,
            "account": confirmation.account.code, "instrument": confirmation.instrument.isin,
            "side": confirmation.side, "quantity": format_decimal(confirmation.quantity),
            "price": format_decimal(confirmation.price), "trade_date": confirmation.trade_date.isoformat(),
            "settlement_date": confirmation.settlement_date.isoformat(), "match_status": confirmation.match_status,
            "trade": confirmation.trade_id, "resolution": confirmation.resolution or None}


def _target(payload: Payload):
    confirmation = _confirmation(payload["confirmation_id"])
    return "clearing.confirmation", str(confirmation.pk), _view(confirmation)


def _preview(payload: Payload, before: dict | None) -> dict:
    return {**(before or {}), "match_status": Confirmation.MatchStatus.MATCHED, "trade": payload["trade_id"],
            "resolution": Confirmation.Resolution.FORCE_MATCHED}


def _describe(payload: Payload) -> str:
    confirmation = _confirmation(payload["confirmation_id"])
    trade = trade_terms_get(payload["trade_id"])
    differences = terms_differences(confirmation, trade, account_code=confirmation.account.code,
                                    isin=confirmation.instrument.isin) if trade else []
    despite = "; ".join(f"{d['field']} ours {d['ours']}, theirs {d['theirs']}" for d in differences)
    return (f"Force-match confirmation {confirmation.counterparty.code} {confirmation.counterparty_ref} "
            f"(#{confirmation.pk}) to trade #{payload['trade_id']}"
            + (f" {trade.external_ref}" if trade else "") + (f" despite {despite}" if despite else ""))


def _apply(payload: Payload, actor) -> dict:
    confirmation = confirmation_force_match(
        actor=actor, confirmation_id=payload["confirmation_id"], trade_id=payload["trade_id"],
        reason=applied_reason(default="force-matched through maker-checker"))
    return {"confirmation": confirmation.pk, "trade": confirmation.trade_id, "match_status": confirmation.match_status}


register_change_kind(
    FORCE_MATCH, label="confirmation force-match", apply=_apply, validate=_validate, target=_target,
    describe=_describe, preview=_preview, approver_roles=(roles.OPERATIONS,), proposer_roles=(roles.OPERATIONS,))
