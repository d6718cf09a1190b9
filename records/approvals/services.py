"""Maker-checker (four eyes): a manual change is proposed by one user and applied when another approves.

Every kind of change is registered once (records.approvals.kinds), with the function that applies
it (the same service any direct write path would call), the roles that may approve it, and how to
describe it and its target; the records' own kinds are registered at the end of this module. Later
apps plug in their kinds (manual journal entries, SSI changes, reopening a period) from their
AppConfig.ready()::

    register_change_kind("journal.manual", apply=..., approver_roles=(ACCOUNTING,), describe=..., target=...)

A payload is JSON: decimals and dates as strings, records by their business keys. A kind's
``validate`` turns what a maker sent into that canonical form (raising BusinessRuleError with the
field at fault), and its ``apply(payload, actor)`` converts it back and calls the real service.
A proposal is dry-run when it is made (in a savepoint that is rolled back), so a change that would
be refused is refused at once, not when someone approves it.
"""

import contextlib
import contextvars
import datetime as dt
import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.db import models, transaction
from django.utils import timezone

from backoffice.core import roles
from backoffice.core.exceptions import BusinessRuleError, ConflictError, ForbiddenError
from backoffice.core.fields import (
    AMOUNT,
    NULL,
    QUANTITY,
    REQUIRED,
    InputError,
    format_decimal,
    parse_date,
    parse_decimal,
    parse_text,
)
from records.approvals.kinds import ChangeKind, Payload, change_kind_get, is_user, register_change_kind
from records.approvals.models import ChangeRequest
from records.audit.services.audit import Actor, audit_log, snapshot
from records.cash import services as cash
from records.cash.models import CashBalance, CashMovement
from records.positions import services as positions
from records.positions.models import Position, StockMovement
from records.reference.models import Account, Counterparty, Instrument
from records.reference.services import reference
from records.reference.validators import parse_code, parse_currency
from records.trades import services as trades
from records.trades.models import Trade

# The change being applied, for the audit reason of the services its kind calls.
_applying: contextvars.ContextVar[ChangeRequest | None] = contextvars.ContextVar("applying_change", default=None)


def change_being_applied() -> ChangeRequest | None:
    """Return the change request whose kind is applying it now (None outside change_approve)."""
    return _applying.get()


@contextlib.contextmanager
def _applying_change(change: ChangeRequest):
    token = _applying.set(change)
    try:
        yield
    finally:
        _applying.reset(token)


def applied_reason(default: str = "") -> str:
    """The audit reason for the records a kind's apply writes: the change request and its reason."""
    change = change_being_applied()
    if change is None or change.pk is None:
        return default
    return f"change request #{change.pk}: {change.reason}"


# Services -----------------------------------------------------------------------------------

class _DryRun(Exception):
    """Raised to roll back the trial application of a proposal."""


@transaction.atomic
def change_propose(*, actor: Actor, kind: str, payload: Payload, reason: str) -> ChangeRequest:
    """Propose a change for another user to approve. Nothing changes until then.

    The payload is validated and the change tried (and rolled back) now, so a change its service
    would refuse is refused at once with the service's error.
    """
    spec = change_kind_get(kind)
    if not is_user(actor):
        raise ForbiddenError("Only a signed-in user may propose a change.")
    if not roles.user_has_role(actor, *spec.proposer_roles):
        raise ForbiddenError(f"Your role does not allow proposing a {spec.label}.")
    if not isinstance(reason, str) or not reason.strip():
        raise BusinessRuleError("A reason is required.", field="reason")
    if not isinstance(payload, dict):
        raise BusinessRuleError("Must be an object.", field="payload")
    payload = _jsonable(spec.validate(payload))
    target_type, target_id, before = spec.target(payload)
    if spec.exclusive:
        # Two makers proposing against the same target at once queue here, so the second sees
        # the first one's proposal (the trial below locks nothing: its savepoint is rolled back).
        _lock_target(spec.kind, target_id)
    _dry_run(spec, payload, actor)
    if spec.exclusive:
        pending = ChangeRequest.objects.filter(kind=spec.kind, target_id=target_id,
                                               status=ChangeRequest.Status.PENDING).order_by("id").first()
        if pending is not None:
            raise ConflictError(f"Change #{pending.pk} to {target_id} is already awaiting approval.")
    change = ChangeRequest.objects.create(
        kind=spec.kind, target_type=target_type, target_id=str(target_id), summary=spec.describe(payload)[:300],
        payload=payload, before=_jsonable(before), reason=reason.strip(), proposed_by=actor,
        proposed_at=timezone.now())
    audit_log(actor=actor, action="CREATE", instance=change, after=snapshot(change), reason=change.reason)
    return change


@transaction.atomic
def change_approve(*, actor: Actor, change_id: int, reason: str = "") -> ChangeRequest:
    """Approve a pending change and apply it, as the approver, in this transaction.

    The proposer may not approve their own change, nor may anyone whose roles do not cover its
    kind. If the change can no longer be applied (its service refuses it), nothing of it is
    applied and the request ends FAILED with the error in ``result``.
    """
    change = _lock(change_id)
    spec = change_kind_get(change.kind)
    _require_decider(change, spec, actor, verb="approve")
    before = snapshot(change)
    try:
        with transaction.atomic(), _applying_change(change):
            result = spec.apply(dict(change.payload), actor)
    except BusinessRuleError as exc:
        change.status = ChangeRequest.Status.FAILED
        change.result = {"error": exc.message, "field": exc.field, "status_code": exc.status_code}
    else:
        change.status = ChangeRequest.Status.APPROVED
        change.result = _jsonable(result or {})
    _decide(change, actor=actor, reason=reason)
    audit_log(actor=actor, action="TRANSITION", instance=change, before=before, after=snapshot(change),
              reason=reason or f"approved {change.kind}")
    return change


@transaction.atomic
def change_reject(*, actor: Actor, change_id: int, reason: str) -> ChangeRequest:
    """Reject a pending change; the proposal and the reason are kept. The proposer withdraws instead."""
    change = _lock(change_id)
    spec = change_kind_get(change.kind)
    _require_decider(change, spec, actor, verb="reject")
    if not isinstance(reason, str) or not reason.strip():
        raise BusinessRuleError("A reason is required.", field="reason")
    before = snapshot(change)
    change.status = ChangeRequest.Status.REJECTED
    _decide(change, actor=actor, reason=reason.strip())
    audit_log(actor=actor, action="TRANSITION", instance=change, before=before, after=snapshot(change),
              reason=change.decision_reason)
    return change


@transaction.atomic
def change_withdraw(*, actor: Actor, change_id: int, reason: str = "") -> ChangeRequest:
    """Withdraw one's own pending proposal."""
    change = _lock(change_id)
    if not is_user(actor) or change.proposed_by_id != actor.pk:
        raise ForbiddenError("Only the user who proposed a change may withdraw it.")
    _require_pending(change)
    before = snapshot(change)
    change.status = ChangeRequest.Status.WITHDRAWN
    # decided_by stays empty: the four-eyes constraint keeps the proposer out of it.
    change.decided_at = timezone.now()
    change.decision_reason = (reason or "").strip()
    change.save(update_fields=["status", "decided_at", "decision_reason"])
    audit_log(actor=actor, action="TRANSITION", instance=change, before=before, after=snapshot(change),
              reason=change.decision_reason or "withdrawn by the proposer")
    return change


def _lock(change_id: int) -> ChangeRequest:
    """Return the change request, locked. Call inside an atomic block."""
    change = ChangeRequest.objects.select_for_update().filter(pk=change_id).first()
    if change is None:
        raise BusinessRuleError("Change request not found.", field="change")
    return change


def _require_pending(change: ChangeRequest) -> None:
    if change.status != ChangeRequest.Status.PENDING:
        raise ConflictError(f"Change #{change.pk} is {change.get_status_display().lower()}, not pending.")


def _require_decider(change: ChangeRequest, spec: ChangeKind, actor: Actor, *, verb: str) -> None:
    if not is_user(actor):
        raise ForbiddenError(f"Only a signed-in user may {verb} a change.")
    if change.proposed_by_id == actor.pk:
        hint = " Withdraw it instead." if verb == "reject" else ""
        raise ForbiddenError(f"You proposed change #{change.pk}: another user must {verb} it.{hint}")
    if not roles.user_has_role(actor, *spec.approver_roles):
        raise ForbiddenError(f"Your role does not allow you to {verb} a {spec.label}.")
    _require_pending(change)


def _decide(change: ChangeRequest, *, actor, reason: str) -> None:
    change.decided_by = actor
    change.decided_at = timezone.now()
    change.decision_reason = (reason or "").strip()
    change.save(update_fields=["status", "decided_by", "decided_at", "decision_reason", "result"])


def _lock_target(kind: str, target_id: str) -> None:
    """Hold a transaction-scoped lock on (kind, target). Call inside an atomic block.

    An advisory lock, since the target may not exist yet (a creation).
    """
    connection = transaction.get_connection()
    key = int.from_bytes(hashlib.sha256(f"change:{kind}:{target_id}".encode()).digest()[:8], "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def _dry_run(spec: ChangeKind, payload: Payload, actor: Actor) -> None:
    try:
        with transaction.atomic():
            spec.apply(dict(payload), actor)
            raise _DryRun
    except _DryRun:
        pass


# Payloads: JSON in, typed values out ----------------------------------------------------------

def to_payload(value):
    """Return a value as a payload holds it: decimals and dates as strings, records by business key."""
    if isinstance(value, Decimal):
        return format_decimal(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, Instrument):
        return value.isin
    if isinstance(value, Account | Counterparty):
        return value.code
    if isinstance(value, models.Model):
        return str(value)
    if isinstance(value, dict):
        return {k: to_payload(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_payload(v) for v in value]
    return value


def _jsonable(data):
    return None if data is None else to_payload(data)


_MISSING = object()


def _get(data: dict, name: str, *, required: bool, default=None):
    value = data.get(name, _MISSING)
    if value is _MISSING:
        if required:
            raise BusinessRuleError(REQUIRED, field=name)
        return default
    return value


def _parsed(data: dict, name: str, parse, *, required: bool, default):
    """The field parsed by its rule (the kernel's, as the trade parser and the serializers apply them), or
    default when absent; a refusal is a BusinessRuleError on the field."""
    value = _get(data, name, required=required, default=_MISSING)
    if value is _MISSING:
        return default
    if value is None:
        raise BusinessRuleError(NULL, field=name)
    try:
        return parse(value)
    except InputError as exc:
        raise BusinessRuleError(exc.message, field=name) from None


def _text(data: dict, name: str, *, max_length: int, required: bool = True, default=None, blank: bool = False):
    return _parsed(data, name, lambda value: parse_text(value, max_length=max_length, allow_blank=blank),
                   required=required, default=default)


def _code(data: dict, name: str, *, required: bool = True):
    return _parsed(data, name, parse_code, required=required, default=None)


def _choice(data: dict, name: str, choices, *, required: bool = True, default=None):
    value = _get(data, name, required=required, default=_MISSING)
    if value is _MISSING:
        return default
    allowed = [c[0] for c in choices]
    if value not in allowed:
        raise BusinessRuleError(f"{value!r} is not a valid choice ({', '.join(allowed)}).", field=name)
    return value


def _boolean(data: dict, name: str, *, required: bool = False, default=None):
    value = _get(data, name, required=required, default=_MISSING)
    if value is _MISSING:
        return default
    if not isinstance(value, bool):
        raise BusinessRuleError("Must be true or false.", field=name)
    return value


def _currency(data: dict, name: str, *, required: bool = True):
    return _parsed(data, name, parse_currency, required=required, default=None)


def _decimal(data: dict, name: str, *, kind=AMOUNT, required: bool = True, default=None,
             non_negative: bool = False, nonzero: bool = False):
    return _parsed(data, name, lambda value: parse_decimal(value, kind=kind, non_negative=non_negative,
                                                           nonzero=nonzero),
                   required=required, default=default)


def _date(data: dict, name: str, *, required: bool = False, default=None):
    if data.get(name) is None and not required:
        return default
    return _parsed(data, name, parse_date, required=required, default=default)


def _cycle(data: dict, name: str, *, required: bool = False, default=None):
    value = _get(data, name, required=required, default=_MISSING)
    if value is _MISSING:
        return default
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 30:
        raise BusinessRuleError("A whole number of business days from 0 to 30, or null.", field=name)
    return value


def _reference(data: dict, name: str = "reference") -> str:
    value = _text(data, name, max_length=100, required=False)
    return value or f"ADJ-{uuid.uuid4().hex[:16].upper()}"


def _only(data: dict, allowed) -> None:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise BusinessRuleError(f"Unknown field; expected one of {', '.join(sorted(allowed))}.", field=unknown[0])


def _object(data: dict, name: str) -> dict:
    value = _get(data, name, required=True)
    if not isinstance(value, dict):
        raise BusinessRuleError("Must be an object.", field=name)
    return value


# Reference data: accounts, counterparties, instruments -----------------------------------------

def _account_view(account: Account) -> dict:
    return {"code": account.code, "name": account.name, "kind": account.kind, "base_currency": account.base_currency,
            "status": account.status, "cost_method": account.cost_method,
            "allow_partial_settlement": account.allow_partial_settlement,
            "credit_limit": format_decimal(account.credit_limit),
            "kyc_review_due": account.kyc_review_due.isoformat() if account.kyc_review_due else None,
            "beneficial_owner": account.beneficial_owner}


def _instrument_view(instrument: Instrument) -> dict:
    return {"isin": instrument.isin, "symbol": instrument.symbol, "name": instrument.name,
            "asset_class": instrument.asset_class, "currency": instrument.currency, "market": instrument.market_id,
            "settlement_cycle": instrument.settlement_cycle, "is_active": instrument.is_active}


def _counterparty_view(counterparty: Counterparty) -> dict:
    ccp = counterparty.clears_through
    return {"code": counterparty.code, "name": counterparty.name, "lei": counterparty.lei,
            "is_ccp": counterparty.is_ccp, "clears_through": ccp.code if ccp is not None else None,
            "requires_matching": counterparty.requires_matching}


def _account_fields(data: dict, *, creating: bool) -> dict:
    fields = {
        "name": _text(data, "name", max_length=200, required=creating),
        "kind": _choice(data, "kind", Account.Kind.choices, required=creating),
        "base_currency": _currency(data, "base_currency", required=creating),
        "status": _choice(data, "status", Account.Status.choices, required=False,
                          default=Account.Status.ACTIVE if creating else None),
        "cost_method": _choice(data, "cost_method", Account.CostMethod.choices, required=False,
                               default=Account.CostMethod.FIFO if creating else None),
        "allow_partial_settlement": _boolean(data, "allow_partial_settlement", default=True if creating else None),
        "credit_limit": _decimal(data, "credit_limit", required=False, non_negative=True,
                                 default=Decimal(0) if creating else None),
        # Compliance: null clears the KYC review date; blank: the account is its own beneficial owner.
        "kyc_review_due": _date(data, "kyc_review_due"),
        "beneficial_owner": _text(data, "beneficial_owner", max_length=100, required=False,
                                  default="" if creating else None, blank=True),
    }
    return {name: value for name, value in fields.items() if creating or name in data}


def _instrument_fields(data: dict, *, creating: bool) -> dict:
    fields = {
        "symbol": _text(data, "symbol", max_length=20, required=creating),
        "name": _text(data, "name", max_length=200, required=creating),
        "asset_class": _choice(data, "asset_class", Instrument.AssetClass.choices, required=creating),
        "currency": _currency(data, "currency", required=creating),
        "market": _text(data, "market", max_length=4, required=creating),
        "settlement_cycle": _cycle(data, "settlement_cycle"),
    }
    if not creating:
        fields["is_active"] = _boolean(data, "is_active")
    return {name: value for name, value in fields.items() if creating or name in data}


def _counterparty_fields(data: dict, *, creating: bool) -> dict:
    clears_through = _get(data, "clears_through", required=False)
    if clears_through is not None:
        clears_through = _text(data, "clears_through", max_length=30)
    fields = {
        "name": _text(data, "name", max_length=200, required=creating),
        "lei": _text(data, "lei", max_length=20, required=creating),
        "is_ccp": _boolean(data, "is_ccp", default=False if creating else None),
        "clears_through": clears_through,
        "requires_matching": _boolean(data, "requires_matching", default=True if creating else None),
    }
    return {name: value for name, value in fields.items() if creating or name in data}


@dataclass(frozen=True)
class _Reference:
    """How to propose creating and updating one kind of reference data."""

    name: str  # "account"
    model: type[models.Model]
    key: str  # "code"
    fields: Callable[..., dict]
    view: Callable[[models.Model], dict]
    create: Callable[..., models.Model]
    update: Callable[..., models.Model]
    update_arg: str  # the keyword the update service takes the record as

    def get(self, key: str, *, field: str | None = None):
        row = self.model.objects.filter(**{self.key: key}).first()
        if row is None:
            raise BusinessRuleError(f"Unknown {self.name} {key!r}.", field=field or self.key)
        return row

    # Creation

    def validate_create(self, payload: Payload) -> Payload:
        key = _code(payload, self.key) if self.key == "code" else _text(payload, self.key, max_length=12)
        fields = self.fields(payload, creating=True)
        _only(payload, {self.key, *fields})
        return {self.key: key, **fields}

    def apply_create(self, payload: Payload, actor: Actor) -> dict:
        values = {self.key: payload[self.key], **self.fields(payload, creating=True)}
        row = self.create(actor=actor, reason=applied_reason(), **values)
        return {self.name: getattr(row, self.key), "id": row.pk}

    def target_create(self, payload: Payload):
        return f"records.{self.name}", payload[self.key], None

    def describe_create(self, payload: Payload) -> str:
        return f"Create {self.name} {payload[self.key]} ({payload.get('name', '')})"

    # Update

    def validate_update(self, payload: Payload) -> Payload:
        _only(payload, {self.key, "changes"})
        key = _text(payload, self.key, max_length=30)
        changes = _object(payload, "changes")
        typed = self.fields(changes, creating=False)
        _only(changes, typed)
        current = self.view(self.get(key))
        changed = {name: value for name, value in _jsonable(typed).items() if current.get(name) != value}
        if not changed:
            raise BusinessRuleError("The change changes nothing.")
        return {self.key: key, "changes": changed}

    def apply_update(self, payload: Payload, actor: Actor) -> dict:
        row = self.get(payload[self.key])
        changes = self.fields(payload["changes"], creating=False)
        _require_unchanged_since_proposed(self.view(row), payload["changes"])
        row = self.update(actor=actor, changes=changes, reason=applied_reason(), **{self.update_arg: row})
        return {self.name: getattr(row, self.key), "id": row.pk, "after": self.view(row)}

    def target_update(self, payload: Payload):
        return f"records.{self.name}", payload[self.key], self.view(self.get(payload[self.key]))

    def describe_update(self, payload: Payload) -> str:
        changes = ", ".join(f"{name} {_shown(value)}" for name, value in payload["changes"].items())
        return f"Change {self.name} {payload[self.key]}: {changes}"


def _shown(value) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _require_unchanged_since_proposed(current: dict, changes: dict) -> None:
    """Refuse to apply a change whose fields someone else changed after it was proposed.

    The approver approved a diff from what the record was then; applying it over another change
    would silently overwrite that one.
    """
    change = change_being_applied()
    if change is None or not isinstance(change.before, dict):
        return
    moved = [name for name in changes if change.before.get(name) != current.get(name)]
    if moved:
        raise ConflictError(f"{', '.join(moved)} changed after this change was proposed; propose it again.")


_ACCOUNT = _Reference("account", Account, "code", _account_fields, _account_view, reference.account_create,
                      reference.account_update, "account")
_INSTRUMENT = _Reference("instrument", Instrument, "isin", _instrument_fields, _instrument_view,
                         reference.instrument_create, reference.instrument_update, "instrument")
_COUNTERPARTY = _Reference("counterparty", Counterparty, "code", _counterparty_fields, _counterparty_view,
                           reference.counterparty_create, reference.counterparty_update, "counterparty")


# Cash and position adjustments -----------------------------------------------------------------

def _cash_adjustment_validate(payload: Payload) -> Payload:
    _only(payload, {"account", "currency", "amount", "value_date", "reference", "description"})
    account = _ACCOUNT.get(_text(payload, "account", max_length=30), field="account")
    return {"account": account.code, "currency": _currency(payload, "currency"),
            "amount": _decimal(payload, "amount", nonzero=True),
            "value_date": _date(payload, "value_date", default=timezone.localdate()),
            "reference": _reference(payload),
            "description": _text(payload, "description", max_length=200, required=False, default="", blank=True)}


def _cash_adjustment_apply(payload: Payload, actor: Actor) -> dict:
    account = _ACCOUNT.get(payload["account"], field="account")
    result = cash.cash_movement_create(
        actor=actor, account=account, currency=payload["currency"], amount=Decimal(payload["amount"]),
        value_date=dt.date.fromisoformat(payload["value_date"]), reference=payload["reference"],
        kind=CashMovement.Kind.ADJUSTMENT, description=payload.get("description", ""),
        reason=applied_reason())
    if not result.created:
        raise ConflictError(f"Cash movement {payload['reference']} is already booked.")
    balance = CashBalance.objects.get(account=account, currency=payload["currency"])
    return {"cash_movement": result.movement.pk, "reference": result.movement.reference,
            "balance": format_decimal(balance.balance)}


def _cash_adjustment_target(payload: Payload):
    balance = CashBalance.objects.filter(account__code=payload["account"], currency=payload["currency"]).first()
    figures = (balance.balance, balance.available) if balance is not None else (Decimal(0), Decimal(0))
    return ("records.cashbalance", f"{payload['account']}/{payload['currency']}",
            {"balance": format_decimal(figures[0]), "available": format_decimal(figures[1])})


def _cash_adjustment_preview(payload: Payload, before: dict | None) -> dict:
    before = before or {"balance": "0", "available": "0"}
    amount = Decimal(payload["amount"])
    return {"amount": payload["amount"],
            "balance": format_decimal(Decimal(before["balance"]) + amount),
            "available": format_decimal(Decimal(before["available"]) + amount)}


def _cash_adjustment_describe(payload: Payload) -> str:
    return (f"Cash adjustment of {payload['amount']} {payload['currency']} on {payload['account']}, "
            f"value {payload['value_date']} ({payload['reference']})")


def _position_adjustment_validate(payload: Payload) -> Payload:
    _only(payload, {"account", "instrument", "quantity", "value_date", "reference", "description"})
    account = _ACCOUNT.get(_text(payload, "account", max_length=30), field="account")
    instrument = _INSTRUMENT.get(_text(payload, "instrument", max_length=12), field="instrument")
    return {"account": account.code, "instrument": instrument.isin,
            "quantity": _decimal(payload, "quantity", kind=QUANTITY, nonzero=True),
            "value_date": _date(payload, "value_date", default=timezone.localdate()),
            "reference": _reference(payload),
            "description": _text(payload, "description", max_length=200, required=False, default="", blank=True)}


def _position_adjustment_apply(payload: Payload, actor: Actor) -> dict:
    account = _ACCOUNT.get(payload["account"], field="account")
    instrument = _INSTRUMENT.get(payload["instrument"], field="instrument")
    movement, created = positions.stock_movement_create(
        actor=actor, account=account, instrument=instrument, quantity=Decimal(payload["quantity"]),
        value_date=dt.date.fromisoformat(payload["value_date"]), reference=payload["reference"],
        kind=StockMovement.Kind.ADJUSTMENT, description=payload.get("description", ""), reason=applied_reason())
    if not created:
        raise ConflictError(f"Stock movement {payload['reference']} is already booked.")
    position = Position.objects.get(account=account, instrument=instrument)
    return {"stock_movement": movement.pk, "reference": movement.reference,
            "settled_quantity": format_decimal(position.settled_quantity),
            "traded_quantity": format_decimal(position.traded_quantity)}


def _position_adjustment_target(payload: Payload):
    position = Position.objects.filter(account__code=payload["account"], instrument__isin=payload["instrument"]).first()
    figures = (position.traded_quantity, position.settled_quantity) if position else (Decimal(0), Decimal(0))
    return ("records.position", f"{payload['account']}/{payload['instrument']}",
            {"traded_quantity": format_decimal(figures[0]), "settled_quantity": format_decimal(figures[1])})


def _position_adjustment_preview(payload: Payload, before: dict | None) -> dict:
    before = before or {"traded_quantity": "0", "settled_quantity": "0"}
    quantity = Decimal(payload["quantity"])
    return {"quantity": payload["quantity"],
            "traded_quantity": format_decimal(Decimal(before["traded_quantity"]) + quantity),
            "settled_quantity": format_decimal(Decimal(before["settled_quantity"]) + quantity)}


def _position_adjustment_describe(payload: Payload) -> str:
    return (f"Position adjustment of {payload['quantity']} {payload['instrument']} on {payload['account']}, "
            f"value {payload['value_date']} ({payload['reference']})")


# Releasing a held trade ------------------------------------------------------------------------

def _trade_get(trade_id) -> Trade:
    trade = Trade.objects.select_related("account", "instrument").filter(pk=trade_id).first()
    if trade is None:
        raise BusinessRuleError(f"Unknown trade {trade_id}.", field="trade_id")
    return trade


def _trade_decision_validate(payload: Payload, *, other_kind: str) -> Payload:
    _only(payload, {"trade_id"})
    trade_id = _get(payload, "trade_id", required=True)
    if isinstance(trade_id, bool) or not isinstance(trade_id, int) or trade_id < 1:
        raise BusinessRuleError("A trade id (a positive whole number).", field="trade_id")
    _trade_get(trade_id)
    # A held trade is either released or rejected: not both proposed at once.
    pending = ChangeRequest.objects.filter(kind=other_kind, target_id=str(trade_id),
                                           status=ChangeRequest.Status.PENDING).order_by("id").first()
    if pending is not None:
        raise ConflictError(f"Change #{pending.pk} ({other_kind}) of trade {trade_id} is already awaiting approval.")
    return {"trade_id": trade_id}


def _trade_release_validate(payload: Payload) -> Payload:
    return _trade_decision_validate(payload, other_kind="trade.reject")


def _trade_release_apply(payload: Payload, actor: Actor) -> dict:
    # trade_release wants a reason; the trial run at proposal time has no change request yet.
    reason = applied_reason(default="released through maker-checker")
    trade = trades.trade_release(actor=actor, trade_id=payload["trade_id"], reason=reason)
    return {"trade": trade.pk, "status": trade.status}


def _trade_release_target(payload: Payload):
    trade = _trade_get(payload["trade_id"])
    return ("records.trade", str(trade.pk),
            {"status": trade.status, "external_ref": trade.external_ref, "account": trade.account.code,
             "instrument": trade.instrument.isin, "side": trade.side, "quantity": format_decimal(trade.quantity),
             "price": format_decimal(trade.price), "hold_reasons": trade.hold_reasons})


def _trade_release_preview(payload: Payload, before: dict | None) -> dict:
    return {**(before or {}), "status": Trade.Status.BOOKED}


def _trade_release_describe(payload: Payload) -> str:
    trade = _trade_get(payload["trade_id"])
    return (f"Release held trade #{trade.pk} {trade.external_ref}: {trade.side} {format_decimal(trade.quantity)} "
            f"{trade.instrument.isin} @ {format_decimal(trade.price)} for {trade.account.code}")


# Rejecting a held trade ------------------------------------------------------------------------

def _trade_reject_validate(payload: Payload) -> Payload:
    return _trade_decision_validate(payload, other_kind="trade.release")


def _trade_reject_apply(payload: Payload, actor: Actor) -> dict:
    reason = applied_reason(default="rejected through maker-checker")
    trade = trades.trade_reject(actor=actor, trade_id=payload["trade_id"], reason=reason)
    return {"trade": trade.pk, "status": trade.status}


def _trade_reject_preview(payload: Payload, before: dict | None) -> dict:
    return {**(before or {}), "status": Trade.Status.REJECTED}


def _trade_reject_describe(payload: Payload) -> str:
    trade = _trade_get(payload["trade_id"])
    return (f"Reject held trade #{trade.pk} {trade.external_ref}: {trade.side} {format_decimal(trade.quantity)} "
            f"{trade.instrument.isin} @ {format_decimal(trade.price)} for {trade.account.code}")


# The kinds of records ----------------------------------------------------------------------------

def _register_records_kinds() -> None:
    reference_makers = (roles.FRONT_OFFICE, roles.OPERATIONS)
    for ref in (_ACCOUNT, _COUNTERPARTY, _INSTRUMENT):
        register_change_kind(
            f"{ref.name}.create", label=f"new {ref.name}", apply=ref.apply_create, validate=ref.validate_create,
            target=ref.target_create, describe=ref.describe_create, approver_roles=(roles.OPERATIONS,),
            proposer_roles=reference_makers)
        register_change_kind(
            f"{ref.name}.update", label=f"{ref.name} change", apply=ref.apply_update, validate=ref.validate_update,
            target=ref.target_update, describe=ref.describe_update, approver_roles=(roles.OPERATIONS,),
            proposer_roles=reference_makers)
    register_change_kind(
        "cash.adjustment", label="cash adjustment", apply=_cash_adjustment_apply, validate=_cash_adjustment_validate,
        target=_cash_adjustment_target, describe=_cash_adjustment_describe, preview=_cash_adjustment_preview,
        approver_roles=(roles.OPERATIONS,), exclusive=False)
    register_change_kind(
        "position.adjustment", label="position adjustment", apply=_position_adjustment_apply,
        validate=_position_adjustment_validate, target=_position_adjustment_target,
        describe=_position_adjustment_describe, preview=_position_adjustment_preview,
        approver_roles=(roles.OPERATIONS,), exclusive=False)
    register_change_kind(
        "trade.release", label="trade release", apply=_trade_release_apply, validate=_trade_release_validate,
        target=_trade_release_target, describe=_trade_release_describe, preview=_trade_release_preview,
        approver_roles=(roles.OPERATIONS, roles.COMPLIANCE))
    register_change_kind(
        "trade.reject", label="trade rejection", apply=_trade_reject_apply, validate=_trade_reject_validate,
        target=_trade_release_target, describe=_trade_reject_describe, preview=_trade_reject_preview,
        approver_roles=(roles.OPERATIONS, roles.COMPLIANCE))


_register_records_kinds()
