"""Settlements' kind of maker-checker change: a new or changed standing settlement instruction (loaded by
SettlementsConfig.ready).

Registered with records.approvals.kinds.register_change_kind as "ssi.change", as clearing registers
its force-match. Two payloads:

- a new SSI: {"counterparty": code, "market": MIC or null (any market), "depository_bic",
  "place_of_settlement_bic", "agent_bic", "safekeeping_account", "effective_from", "effective_to"
  (optional)};
- a change: {"id": ssi id, "changes": {any of the BICs, safekeeping_account, effective_from,
  effective_to}} (only the fields that differ are kept).

Applying it calls settlements.instructions.services.ssis.ssi_create or ssi_update as the approver,
which releases the HELD instructions the SSI now covers. Operations proposes, another operations
user approves.
"""

from datetime import date

from backoffice.core import roles
from backoffice.core.exceptions import BusinessRuleError, ConflictError
from backoffice.core.fields import InputError
from records.approvals.kinds import Payload, register_change_kind
from records.approvals.services import applied_reason, change_being_applied
from records.reference import selectors as reference_selectors
from records.reference.validators import parse_code
from settlements.instructions import selectors
from settlements.instructions.services.ssis import ssi_create, ssi_update
from settlements.instructions.validators import CHANGEABLE_FIELDS, SSI_FIELDS, check_effective_range, ssi_values

SSI_CHANGE = "ssi.change"
TARGET_TYPE = "settlements.standingsettlementinstruction"


def _only(data: dict, allowed) -> None:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise BusinessRuleError(f"Unknown field; expected one of {', '.join(allowed)}.", field=unknown[0])


def _counterparty(value):
    try:
        code = parse_code(value)
    except InputError as exc:
        raise BusinessRuleError(exc.message, field="counterparty") from None
    counterparty = reference_selectors.counterparty_get(code)
    if counterparty is None:
        raise BusinessRuleError(f"Unknown counterparty {code!r}.", field="counterparty")
    return counterparty


def _market(value):
    """A market by MIC; None (or an empty value) is the counterparty's default for any market."""
    if value is None or value == "":
        return None
    market = reference_selectors.market_list().filter(mic=value).first() if isinstance(value, str) else None
    if market is None:
        raise BusinessRuleError(f"Unknown market {value!r}: give a MIC (e.g. XNYS), or null for any market.",
                                field="market")
    return market


def _as_payload(values: dict) -> dict:
    return {name: value.isoformat() if isinstance(value, date) else value for name, value in values.items()}


def ssi_view(ssi) -> dict:
    """An SSI as a payload holds it (its before, in a change's diff)."""
    return {"id": ssi.pk, "counterparty": ssi.counterparty.code, "market": ssi.market.mic if ssi.market else None,
            "depository_bic": ssi.depository_bic, "place_of_settlement_bic": ssi.place_of_settlement_bic,
            "agent_bic": ssi.agent_bic, "safekeeping_account": ssi.safekeeping_account,
            "effective_from": ssi.effective_from.isoformat(),
            "effective_to": ssi.effective_to.isoformat() if ssi.effective_to else None}


def _ssi(payload: Payload):
    ssi_id = payload.get("id")
    ssi = selectors.ssi_get(ssi_id)
    if ssi is None:
        raise BusinessRuleError(f"Unknown standing settlement instruction {ssi_id!r}.", field="id")
    return ssi


def _validate(payload: Payload) -> Payload:
    if "id" in payload:
        _only(payload, ("id", "changes"))
        ssi = _ssi(payload)
        changes = payload.get("changes")
        if not isinstance(changes, dict):
            raise BusinessRuleError("Must be an object.", field="changes")
        _only(changes, CHANGEABLE_FIELDS)
        values = _as_payload(ssi_values(changes, creating=False))
        current = ssi_view(ssi)
        changed = {name: value for name, value in values.items() if current[name] != value}
        if not changed:
            raise BusinessRuleError("The change changes nothing.")
        check_effective_range(date.fromisoformat(changed.get("effective_from", current["effective_from"])),
                              _date_or_none(changed.get("effective_to", current["effective_to"])))
        return {"id": ssi.pk, "changes": changed}
    _only(payload, SSI_FIELDS)
    counterparty = _counterparty(payload.get("counterparty"))
    market = _market(payload.get("market"))
    values = ssi_values(payload, creating=True)
    check_effective_range(values["effective_from"], values["effective_to"])
    return {"counterparty": counterparty.code, "market": market.mic if market else None, **_as_payload(values)}


def _date_or_none(value):
    return date.fromisoformat(value) if value else None


def _target(payload: Payload):
    if "id" in payload:
        ssi = _ssi(payload)
        return TARGET_TYPE, str(ssi.pk), ssi_view(ssi)
    return TARGET_TYPE, f"{payload['counterparty']}/{payload['market'] or '*'}/{payload['effective_from']}", None


def _describe(payload: Payload) -> str:
    if "id" in payload:
        ssi = _ssi(payload)
        changes = ", ".join(f"{name} {value if value is not None else 'none'}"
                            for name, value in payload["changes"].items())
        where = ssi.market.mic if ssi.market else "any market"
        return f"Change SSI #{ssi.pk} of {ssi.counterparty.code} in {where}: {changes}"
    ends = f" to {payload['effective_to']}" if payload.get("effective_to") else ""
    return (f"New SSI of {payload['counterparty']} in {payload['market'] or 'any market'}: depository "
            f"{payload['depository_bic']}, agent {payload['agent_bic']}, account {payload['safekeeping_account']}, "
            f"from {payload['effective_from']}{ends}")


def _require_unchanged(ssi, payload: Payload) -> None:
    """Refuse to apply a change over fields someone else changed after it was proposed."""
    change = change_being_applied()
    if change is None or not isinstance(change.before, dict):
        return
    current = ssi_view(ssi)
    moved = [name for name in payload["changes"] if change.before.get(name) != current.get(name)]
    if moved:
        raise ConflictError(f"{', '.join(moved)} changed after this change was proposed; propose it again.")


def _apply(payload: Payload, actor) -> dict:
    reason = applied_reason(default="standing settlement instruction approved")
    if "id" in payload:
        ssi = _ssi(payload)
        _require_unchanged(ssi, payload)
        ssi = ssi_update(actor=actor, ssi_id=ssi.pk, changes=payload["changes"], reason=reason)
    else:
        ssi = ssi_create(actor=actor, counterparty=_counterparty(payload["counterparty"]),
                         market=_market(payload["market"]),
                         **{name: payload.get(name) for name in CHANGEABLE_FIELDS}, reason=reason)
    ssi.refresh_from_db()
    held = selectors.held_without_ssi(counterparty=ssi.counterparty).count()
    return {"ssi": ssi.pk, "after": ssi_view(ssi), "instructions_still_held": held}


register_change_kind(
    SSI_CHANGE, label="standing settlement instruction", apply=_apply, validate=_validate, target=_target,
    describe=_describe, approver_roles=(roles.OPERATIONS,), proposer_roles=(roles.OPERATIONS,))
