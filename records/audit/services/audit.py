"""The audit trail: one place every write path calls, in the same transaction as its change."""

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from backoffice.core.bulk import batch_value, insert_rows
from backoffice.core.canonical import canonical_json, json_default
from backoffice.core.context import correlation_id
from records.audit.models import Actor, AuditRecord

SYSTEM_ACTOR = "system"


def _json_default(value):
    """The kernel's JSON forms (decimals, dates), plus what a snapshot may hold: a model instance as its
    primary key, anything else (UUIDs, durations, files) as its text."""
    if isinstance(value, models.Model):
        return value.pk
    try:
        return json_default(value)
    except TypeError:
        return str(value)


def _jsonable(data: dict | None) -> dict | None:
    if data is None:
        return None
    return json.loads(canonical_json(data, default=_json_default))


def snapshot(instance: models.Model, *, exclude: Iterable[str] = ("created_at", "updated_at")) -> dict:
    """Return a JSON-ready dict of an instance's concrete fields (foreign keys as their ids)."""
    skipped = set(exclude)
    data = {}
    for field in instance._meta.concrete_fields:
        if field.name in skipped:
            continue
        data[field.attname] = getattr(instance, field.attname)
    return _jsonable(data)


def record_type_of(model: type[models.Model] | models.Model) -> str:
    """Return the audit name of a model: ``app_label.modelname``."""
    return model._meta.label_lower


def actor_fields(actor: Actor) -> tuple[Any, str]:
    if actor is None:
        return None, SYSTEM_ACTOR
    if isinstance(actor, str):
        return None, actor
    if not actor.is_authenticated:
        return None, "anonymous"
    return actor, actor.get_username()


class CanonicalJSON(str):
    """A before/after value already serialized canonically (keys sorted, compact, UTF-8, decimals as
    strings): batch writers with a fixed shape build the text directly instead of a dict."""


@dataclass(frozen=True)
class AuditEntry:
    """One change for audit_log_bulk."""

    record_type: str
    record_id: str
    before: dict | CanonicalJSON | None
    after: dict | CanonicalJSON | None


def audit_log(
    *,
    actor: Actor,
    action: str,
    instance: models.Model | None = None,
    record_type: str | None = None,
    record_id: Any = None,
    before: dict | None = None,
    after: dict | None = None,
    reason: str = "",
) -> AuditRecord:
    """Write one audit record. Call inside the transaction that makes the change."""
    if instance is not None:
        record_type = record_type or record_type_of(instance)
        record_id = instance.pk if record_id is None else record_id
    if not record_type or record_id is None:
        raise ValueError("audit_log needs an instance or a record_type and record_id")
    _require_transaction()
    user, label = actor_fields(actor)
    record = AuditRecord(
        at=timezone.now(),
        actor=user,
        actor_label=label,
        action=action,
        record_type=record_type,
        record_id=str(record_id),
        before=_jsonable(before),
        after=_jsonable(after),
        reason=reason or "",
        correlation_id=correlation_id(),
    )
    record.content_hash = content_hash(record)
    record.save(force_insert=True)
    return record


def audit_log_bulk(*, actor: Actor, action: str, entries: Iterable[AuditEntry], reason: str = "") -> int:
    """Write audit records for a batch of changes in one pass (COPY on PostgreSQL). Returns the count."""
    return insert_rows(AuditRecord, AUDIT_COLUMNS, audit_rows(actor=actor, action=action, entries=entries,
                                                              reason=reason))


def audit_rows(*, actor: Actor, action: str, entries: Iterable[AuditEntry], reason: str = "") -> list[tuple]:
    """The rows audit_log_bulk writes (AUDIT_COLUMNS order, hashed), for a caller inserting them
    with other rows in one statement (core.bulk.insert_many). Call inside the transaction."""
    _require_transaction()
    user, label = actor_fields(actor)
    now = timezone.now()
    corr = correlation_id()
    user_id = user.pk if user is not None else None
    reason = reason or ""
    # The canonical serialization (see hash_fields) is built from pieces: the fields every record
    # of the batch shares are serialized once, before and after once each, in canonical form.
    head = canonical_json([now.astimezone(dt.UTC).isoformat(timespec="microseconds"), user_id, label, action])[:-1]
    stamp = batch_value(now)
    tail = canonical_json([reason, corr])[1:]
    rows = []
    record_types: dict[str, str] = {}
    for e in entries:
        before, after = _canonical_json(e.before), _canonical_json(e.after)
        record_id = str(e.record_id)
        record_type = record_types.get(e.record_type)
        if record_type is None:
            record_type = record_types[e.record_type] = canonical_json(e.record_type)
        # Ids are digits almost always: their JSON is the digits in quotes.
        canonical_id = (f'"{record_id}"' if record_id.isdigit() and record_id.isascii()
                        else canonical_json(record_id))
        canonical = f"{head},{record_type},{canonical_id},{before},{after},{tail}"
        rows.append((stamp, user_id, label, action, e.record_type, record_id,
                     None if e.before is None else before, None if e.after is None else after, reason, corr,
                     hashlib.sha256(canonical.encode()).hexdigest()))
    return rows


def _canonical_json(data: dict | None) -> str:
    """Serialize before/after canonically, as hash_fields would see them once stored and read back."""
    if data is None:
        return "null"
    if isinstance(data, CanonicalJSON):
        return data
    if all(type(key) is str for key in data):
        return canonical_json(data, default=_json_default)
    # Non-string keys become strings in JSON and would sort differently: take the round trip.
    return canonical_json(json.loads(json.dumps(data, default=_json_default)))


AUDIT_COLUMNS = ("at", "actor_id", "actor_label", "action", "record_type", "record_id", "before", "after", "reason",
                 "correlation_id", "content_hash")


def hash_fields(at, actor_id, actor_label, action, record_type, record_id, before, after, reason, corr) -> str:
    """SHA-256 of an audit record's canonical serialization.

    Canonical (backoffice.core.canonical): a JSON array of the fields in this order, keys sorted,
    no whitespace, UTF-8; the time in UTC with microseconds; before/after as JSON values (strings,
    numbers, booleans, null, lists, objects - never floats: decimals are strings). The same bytes come out of a
    row read back from the database, so verification can recompute it.
    """
    canonical = canonical_json([at.astimezone(dt.UTC).isoformat(timespec="microseconds"), actor_id, actor_label,
                                action, record_type, str(record_id), before, after, reason, corr])
    return hashlib.sha256(canonical.encode()).hexdigest()


def content_hash(record: AuditRecord) -> str:
    """Return the SHA-256 of an audit record's content (see hash_fields)."""
    return hash_fields(record.at, record.actor_id, record.actor_label, record.action, record.record_type,
                       record.record_id, record.before, record.after, record.reason, record.correlation_id)


def changed_fields(before: dict, after: dict) -> dict:
    """Return {field: [old, new]} for the fields that differ."""
    return {k: [before.get(k), after.get(k)] for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k)}


def _require_transaction() -> None:
    # The audit record must commit or roll back with the change it describes.
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit records must be written inside the transaction of the change")
