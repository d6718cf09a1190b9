"""The kinds of change that go through maker-checker (records.approvals.services), and what each looks like.

Every kind of change is registered here once, with the function that applies it, the roles that
may propose and approve it, and how to describe it, its target and its diff. The records' own
kinds are registered by records.approvals.services; later apps plug in theirs from their
AppConfig.ready()::

    register_change_kind("journal.manual", apply=..., approver_roles=(ACCOUNTING,), describe=..., target=...)

Reads of the registry (who may decide what, a change's diff) import this module, never the services.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import models

from backoffice.core import roles
from backoffice.core.exceptions import BusinessRuleError
from records.approvals.models import ChangeRequest
from records.audit.diff import DiffRow
from records.audit.models import Actor

Payload = dict[str, Any]


@dataclass(frozen=True)
class ChangeKind:
    """One kind of change that goes through maker-checker."""

    kind: str
    label: str
    # apply(payload, actor) -> result: make the change through the real service, as `actor` (the
    # approver). Raises BusinessRuleError when the change can no longer be made.
    apply: Callable[[Payload, Actor], dict]
    approver_roles: tuple[str, ...]
    proposer_roles: tuple[str, ...]
    # describe(payload) -> one line for lists: "Change account ACC-001: status SUSPENDED".
    describe: Callable[[Payload], str]
    # target(payload) -> (record type, business key, the record as it is now or None).
    target: Callable[[Payload], tuple[str, str, dict | None]]
    # validate(payload) -> the canonical payload. Raises BusinessRuleError on bad input.
    validate: Callable[[Payload], Payload]
    # preview(payload, before) -> the target as it would be after the change (for the diff).
    preview: Callable[[Payload, dict | None], dict]
    # At most one pending proposal per target (false where changes add up, e.g. adjustments).
    exclusive: bool = True


_KINDS: dict[str, ChangeKind] = {}


def register_change_kind(kind: str, *, apply: Callable[[Payload, Actor], dict], approver_roles: tuple[str, ...],
                         describe: Callable[[Payload], str], target: Callable[[Payload], tuple[str, str, dict | None]],
                         validate: Callable[[Payload], Payload] | None = None,
                         proposer_roles: tuple[str, ...] | None = None,
                         preview: Callable[[Payload, dict | None], dict] | None = None,
                         label: str | None = None, exclusive: bool = True) -> ChangeKind:
    """Register a kind of change. Superusers may always approve, but never their own proposals.

    proposer_roles defaults to approver_roles; validate to accepting the payload as given; preview
    to the record as before with the payload's ``changes`` (or the payload itself, for a creation).
    """
    if kind in _KINDS:
        raise ValueError(f"Change kind {kind!r} is already registered.")
    spec = ChangeKind(
        kind=kind, label=label or kind, apply=apply, approver_roles=tuple(approver_roles),
        proposer_roles=tuple(proposer_roles if proposer_roles is not None else approver_roles),
        describe=describe, target=target, validate=validate or (lambda payload: payload),
        preview=preview or _default_preview, exclusive=exclusive)
    _KINDS[kind] = spec
    return spec


def change_kind_get(kind: str) -> ChangeKind:
    spec = _KINDS.get(kind) if isinstance(kind, str) else None
    if spec is None:
        raise BusinessRuleError(f"Unknown kind of change {kind!r}.", field="kind")
    return spec


def change_kind_label(kind: str) -> str:
    """Return the human name of a kind ("account change"), or the kind itself if unknown."""
    spec = _KINDS.get(kind)
    return spec.label if spec is not None else kind


def change_kinds() -> list[ChangeKind]:
    """Return every registered kind, by name."""
    return [_KINDS[name] for name in sorted(_KINDS)]


def may_propose(user, kind: str) -> bool:
    spec = _KINDS.get(kind)
    return spec is not None and is_user(user) and roles.user_has_role(user, *spec.proposer_roles)


def may_approve(user, kind: str) -> bool:
    """Return True if the user's roles allow deciding this kind (whoever proposed it)."""
    spec = _KINDS.get(kind)
    return spec is not None and is_user(user) and roles.user_has_role(user, *spec.approver_roles)


def kinds_decidable_by(user) -> list[str]:
    return [spec.kind for spec in change_kinds() if may_approve(user, spec.kind)]


def is_user(actor) -> bool:
    return isinstance(actor, models.Model) and getattr(actor, "is_authenticated", False)


# The diff an approver looks at ----------------------------------------------------------------

def change_diff(change: ChangeRequest) -> list[DiffRow]:
    """Return the fields the change sets, with their values before (when proposed) and after.

    For a change to an existing record only the fields that differ; for a creation every field.
    """
    spec = _KINDS.get(change.kind)
    before = change.before if isinstance(change.before, dict) else None
    if spec is None:
        after = change.payload if isinstance(change.payload, dict) else {}
    else:
        after = spec.preview(change.payload, before)
    rows = [DiffRow(name, (before or {}).get(name), value) for name, value in after.items()]
    return rows if before is None else [row for row in rows if row.changed]


def _default_preview(payload: Payload, before: dict | None) -> dict:
    if before is not None and isinstance(payload.get("changes"), dict):
        return {**before, **payload["changes"]}
    return dict(payload)
