"""Writes of alerts: raising them (set-based, idempotent) and the steps of their cases.

alerts_raise is what every rule that alerts calls (the surveillance scenarios, pre-trade rules whose
action is ALERT): one INSERT ... ON CONFLICT DO NOTHING for the whole batch, so an alert already raised
for the same rule and dedupe key is never raised twice (a rerun, two runs at once); the alerts it did
insert get their OPEN event and their audit record in the same transaction.

The steps of a case (alert_assign, alert_investigate, alert_escalate, alert_close, alert_reopen, alert_note,
alerts_assign_bulk) lock the alert, check its state (ConflictError: 409), and write an AlertEvent and an
audit record (before/after: state, owner, disposition, escalated_at, closed_at) in the same transaction.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from backoffice.core import roles
from backoffice.core.bulk import insert_rows
from backoffice.core.canonical import canonical_json
from backoffice.core.exceptions import BusinessRuleError, ConflictError
from compliance.alerts.models import Alert, AlertEvent, AlertState
from compliance.rules.models import ComplianceRule
from records.audit.services.audit import Actor, AuditEntry, actor_fields, audit_log, audit_log_bulk, record_type_of


@dataclass
class AlertDraft:
    """An alert a rule wants raised, before it is known whether it already exists."""

    rule: ComplianceRule
    subject_type: str
    subject_id: int
    dedupe_key: str
    business_date: date
    summary: str
    account_id: int | None = None
    instrument_id: int | None = None
    # {"records": [{"type": "TRADE", "id": 12, "label": "..."}], "figures": {...}}
    evidence: dict = field(default_factory=dict)


def sla_hours(severity: str) -> int:
    return int(settings.COMPLIANCE_ALERT_SLA_HOURS[severity])


_INSERT = """
INSERT INTO compliance_alert AS a (rule_id, rule_version, kind, severity, subject_type, subject_id, dedupe_key,
    account_id, instrument_id, business_date, summary, evidence, state, disposition, job_id, opened_at, due_at,
    updated_at)
SELECT d.rule_id, d.rule_version, d.kind, d.severity, d.subject_type, d.subject_id, d.dedupe_key, d.account_id,
    d.instrument_id, d.business_date, d.summary, d.evidence, 'OPEN', '', %(job_id)s, %(now)s, d.due_at, %(now)s
FROM unnest(%(rule_id)s::bigint[], %(rule_version)s::int[], %(kind)s::text[], %(severity)s::text[],
            %(subject_type)s::text[], %(subject_id)s::bigint[], %(dedupe_key)s::text[], %(account_id)s::bigint[],
            %(instrument_id)s::bigint[], %(business_date)s::date[], %(summary)s::text[], %(evidence)s::jsonb[],
            %(due_at)s::timestamptz[])
     AS d (rule_id, rule_version, kind, severity, subject_type, subject_id, dedupe_key, account_id, instrument_id,
           business_date, summary, evidence, due_at)
ORDER BY d.rule_id, d.dedupe_key
ON CONFLICT (rule_id, dedupe_key) DO NOTHING
RETURNING a.id, a.rule_id, a.dedupe_key
"""


@transaction.atomic
def alerts_raise(*, actor: Actor, drafts: Sequence[AlertDraft], job_id: int | None = None) -> list[int]:
    """Raise the drafts that are not raised yet (same rule and dedupe key): return the new alerts' ids.

    One INSERT for the batch, then one COPY of their OPEN events and one of their audit records.
    """
    unique: dict[tuple[int, str], AlertDraft] = {}
    for d in drafts:
        unique.setdefault((d.rule.pk, d.dedupe_key), d)
    if not unique:
        return []
    now = timezone.now()
    rows = list(unique.values())
    params = {
        "job_id": job_id, "now": now,
        "rule_id": [d.rule.pk for d in rows], "rule_version": [d.rule.version for d in rows],
        "kind": [d.rule.kind for d in rows], "severity": [d.rule.severity for d in rows],
        "subject_type": [d.subject_type for d in rows], "subject_id": [d.subject_id for d in rows],
        "dedupe_key": [d.dedupe_key for d in rows], "account_id": [d.account_id for d in rows],
        "instrument_id": [d.instrument_id for d in rows], "business_date": [d.business_date for d in rows],
        "summary": [d.summary[:500] for d in rows], "evidence": [canonical_json(d.evidence) for d in rows],
        "due_at": [now + timedelta(hours=sla_hours(d.rule.severity)) for d in rows],
    }
    with connection.cursor() as cursor:
        cursor.execute(_INSERT, params)
        inserted = cursor.fetchall()
    if not inserted:
        return []
    user, label = actor_fields(actor)
    user_id = user.pk if user is not None else None
    insert_rows(AlertEvent, ("alert_id", "at", "actor_id", "actor_label", "action", "from_state", "to_state",
                             "owner_id", "note"),
                [(alert_id, now, user_id, label, AlertEvent.Action.OPEN, "", AlertState.OPEN, None,
                  unique[(rule_id, key)].summary) for alert_id, rule_id, key in inserted])
    record_type = record_type_of(Alert)
    audit_log_bulk(actor=actor, action="CREATE", entries=[
        AuditEntry(record_type, alert_id, None, _audit_after(unique[(rule_id, key)], now))
        for alert_id, rule_id, key in inserted], reason="raised by rule")
    return [alert_id for alert_id, _, _ in inserted]


def _audit_after(d: AlertDraft, now) -> dict:
    return {"rule": d.rule.code, "rule_version": d.rule.version, "kind": d.rule.kind, "severity": d.rule.severity,
            "subject_type": d.subject_type, "subject_id": d.subject_id, "dedupe_key": d.dedupe_key,
            "account": d.account_id, "instrument": d.instrument_id, "business_date": d.business_date.isoformat(),
            "summary": d.summary[:500], "state": AlertState.OPEN, "opened_at": now.isoformat()}


# The steps of a case ------------------------------------------------------------------------------------
#
# Each step locks the alert (SELECT ... FOR UPDATE), re-checks its state, changes it, and writes one
# AlertEvent and one audit record (before/after: the case fields) in the same transaction. A step the
# state forbids is a ConflictError (409); bad input (a blank or too long note, control characters, an
# owner without the compliance role) is a BusinessRuleError (400).

NOTE_MAX_LENGTH = 2000
OPEN_STATES = (AlertState.OPEN, AlertState.INVESTIGATING, AlertState.ESCALATED)
_CASE_FIELDS = ("state", "owner_id", "disposition", "escalated_at", "closed_at")


def _note(value, *, field: str, allow_blank: bool = False) -> str:
    """A note as a person typed it: text, stripped, at most NOTE_MAX_LENGTH characters; line breaks and tabs
    allowed, other control characters (NUL...) refused."""
    if value is None and allow_blank:
        return ""
    if not isinstance(value, str):
        raise BusinessRuleError("Not a valid string.", field=field)
    value = value.replace("\r\n", "\n").strip()
    if not value and not allow_blank:
        raise BusinessRuleError("This field may not be blank.", field=field, code="blank")
    if len(value) > NOTE_MAX_LENGTH:
        raise BusinessRuleError(f"Ensure this field has no more than {NOTE_MAX_LENGTH} characters.", field=field,
                                code="max_length")
    if not all(ch.isprintable() or ch in "\n\t" for ch in value):
        raise BusinessRuleError("Control characters (NUL and the like) are not allowed.", field=field,
                                code="control_characters")
    return value


def alert_owner_resolve(owner, *, field: str = "owner"):
    """The user an alert may be assigned to (a user or a username): active, holding the compliance role
    (superusers may do everything); else a BusinessRuleError naming the field."""
    User = get_user_model()
    if isinstance(owner, User):
        user = owner
    elif isinstance(owner, str) and owner and owner.isprintable() and len(owner) <= 150:
        user = User.objects.filter(username=owner).first()
        if user is None:
            raise BusinessRuleError(f"No user {owner!r}.", field=field, code="unknown")
    else:
        raise BusinessRuleError("Give the owner's username.", field=field)
    if not user.is_active or not roles.user_has_role(user, roles.COMPLIANCE):
        raise BusinessRuleError(f"{user.get_username()} does not hold the compliance role: alerts are owned by "
                                "compliance officers.", field=field, code="not_compliance")
    return user


def _case(alert: Alert) -> dict:
    return {name: getattr(alert, name) for name in _CASE_FIELDS}


def _locked(alert_id) -> Alert:
    """The alert, locked (call inside an atomic block); BusinessRuleError when there is none."""
    if isinstance(alert_id, bool) or not isinstance(alert_id, int):
        raise BusinessRuleError("Give an alert id (an integer).", field="id")
    alert = Alert.objects.select_for_update(of=("self",)).filter(pk=alert_id).first()
    if alert is None:
        raise BusinessRuleError(f"Unknown alert {alert_id}.", field="id", code="unknown")
    return alert


def _require_state(alert: Alert, allowed: Sequence[str], step: str) -> None:
    if alert.state not in allowed:
        raise ConflictError(f"Alert {alert.pk} is {alert.state}: it cannot be {step} "
                            f"(only when {' or '.join(allowed)}).")


def _record(*, actor: Actor, alert: Alert, before: dict, action: str, from_state: str, note: str, reason: str,
            fields: Sequence[str]) -> Alert:
    """Save the changed fields, write the step's event and its audit record."""
    alert.save(update_fields=[*fields, "updated_at"])
    user, label = actor_fields(actor)
    AlertEvent.objects.create(alert=alert, at=timezone.now(), actor=user, actor_label=label, action=action,
                              from_state=from_state, to_state=alert.state, owner_id=alert.owner_id, note=note)
    audit_log(actor=actor, action="TRANSITION" if from_state != alert.state else "UPDATE", instance=alert,
              before=before, after=_case(alert), reason=reason)
    return alert


@transaction.atomic
def alert_assign(*, actor: Actor, alert_id: int, owner) -> Alert:
    """Give the alert to owner (a compliance officer; a user or a username). The state is kept (an OPEN alert
    stays OPEN); reassigning is allowed until it is CLOSED (409 then). Assigning it to its owner changes nothing."""
    user = alert_owner_resolve(owner)
    alert = _locked(alert_id)
    _require_state(alert, OPEN_STATES, "assigned")
    if alert.owner_id == user.pk:
        return alert
    before = _case(alert)
    alert.owner = user
    return _record(actor=actor, alert=alert, before=before, action=AlertEvent.Action.ASSIGN, from_state=alert.state,
                   note="", reason=f"assigned to {user.get_username()}", fields=["owner"])


@transaction.atomic
def alert_investigate(*, actor: Actor, alert_id: int) -> Alert:
    """Start the investigation of an OPEN alert (INVESTIGATING); the actor becomes its owner if it has none."""
    alert = _locked(alert_id)
    _require_state(alert, (AlertState.OPEN,), "taken into investigation")
    before = _case(alert)
    fields = ["state"]
    if alert.owner_id is None and getattr(actor, "is_authenticated", False):
        alert.owner = alert_owner_resolve(actor, field="non_field_errors")
        fields.append("owner")
    alert.state = AlertState.INVESTIGATING
    return _record(actor=actor, alert=alert, before=before, action=AlertEvent.Action.INVESTIGATE,
                   from_state=AlertState.OPEN, note="", reason="investigation started", fields=fields)


@transaction.atomic
def alert_escalate(*, actor: Actor, alert_id: int, note: str) -> Alert:
    """Escalate an OPEN or INVESTIGATING alert (ESCALATED, escalated_at now); the note says why (required)."""
    note = _note(note, field="note")
    alert = _locked(alert_id)
    _require_state(alert, (AlertState.OPEN, AlertState.INVESTIGATING), "escalated")
    before, from_state = _case(alert), alert.state
    alert.state, alert.escalated_at = AlertState.ESCALATED, timezone.now()
    return _record(actor=actor, alert=alert, before=before, action=AlertEvent.Action.ESCALATE, from_state=from_state,
                   note=note, reason=note, fields=["state", "escalated_at"])


@transaction.atomic
def alert_close(*, actor: Actor, alert_id: int, disposition: str) -> Alert:
    """Close an open alert (OPEN, INVESTIGATING or ESCALATED) with its disposition: what was found and done
    (required, at most NOTE_MAX_LENGTH characters)."""
    disposition = _note(disposition, field="disposition")
    alert = _locked(alert_id)
    _require_state(alert, OPEN_STATES, "closed")
    before, from_state = _case(alert), alert.state
    alert.state, alert.disposition, alert.closed_at = AlertState.CLOSED, disposition, timezone.now()
    return _record(actor=actor, alert=alert, before=before, action=AlertEvent.Action.CLOSE, from_state=from_state,
                   note=disposition, reason=disposition, fields=["state", "disposition", "closed_at"])


@transaction.atomic
def alert_reopen(*, actor: Actor, alert_id: int, reason: str) -> Alert:
    """Reopen a CLOSED alert into INVESTIGATING (the reason is required). Its disposition and closing time are
    cleared on the alert; the CLOSE event in its history keeps them."""
    reason = _note(reason, field="reason")
    alert = _locked(alert_id)
    _require_state(alert, (AlertState.CLOSED,), "reopened")
    before = _case(alert)
    alert.state, alert.disposition, alert.closed_at = AlertState.INVESTIGATING, "", None
    return _record(actor=actor, alert=alert, before=before, action=AlertEvent.Action.REOPEN,
                   from_state=AlertState.CLOSED, note=reason, reason=reason,
                   fields=["state", "disposition", "closed_at"])


@transaction.atomic
def alert_note(*, actor: Actor, alert_id: int, note: str) -> Alert:
    """Add a note to the alert's history, in any state; nothing else changes."""
    note = _note(note, field="note")
    alert = _locked(alert_id)
    before = _case(alert)
    user, label = actor_fields(actor)
    AlertEvent.objects.create(alert=alert, at=timezone.now(), actor=user, actor_label=label,
                              action=AlertEvent.Action.NOTE, from_state=alert.state, to_state=alert.state,
                              owner_id=alert.owner_id, note=note)
    audit_log(actor=actor, action="UPDATE", instance=alert, before=before, after=_case(alert),
              reason=f"note: {note}"[:NOTE_MAX_LENGTH])
    return alert


@dataclass(frozen=True)
class BulkAssignResult:
    assigned: list[int]          # now owned by the owner, and were not before
    unchanged: list[int]         # already the owner's
    skipped_closed: list[int]    # CLOSED: never reassigned


BULK_MAX = 1000


@transaction.atomic
def alerts_assign_bulk(*, actor: Actor, alert_ids: Sequence[int], owner) -> BulkAssignResult:
    """Give every alert of alert_ids to owner, set-based: one locking SELECT, one UPDATE, one insert of the events
    and one of the audit records. CLOSED alerts are skipped (and counted); those the owner has already stay as
    they are. Unknown ids, an empty list or more than BULK_MAX ids: BusinessRuleError naming "ids"."""
    if not isinstance(alert_ids, (list, tuple)) or not alert_ids:
        raise BusinessRuleError("Give at least one alert id.", field="ids")
    if any(isinstance(i, bool) or not isinstance(i, int) for i in alert_ids):
        raise BusinessRuleError("Alert ids are integers.", field="ids")
    ids = sorted(set(alert_ids))
    if len(ids) > BULK_MAX:
        raise BusinessRuleError(f"At most {BULK_MAX} alerts at a time.", field="ids")
    user = alert_owner_resolve(owner)
    rows = list(Alert.objects.select_for_update(of=("self",)).filter(pk__in=ids).order_by("pk")
                .values_list("pk", "state", "owner_id", "disposition", "escalated_at", "closed_at"))
    missing = sorted(set(ids) - {row[0] for row in rows})
    if missing:
        raise BusinessRuleError(f"Unknown alert{'s' if len(missing) > 1 else ''} "
                                f"{', '.join(map(str, missing[:20]))}.", field="ids", code="unknown")
    closed = [row[0] for row in rows if row[1] == AlertState.CLOSED]
    unchanged = [row[0] for row in rows if row[1] != AlertState.CLOSED and row[2] == user.pk]
    changing = [row for row in rows if row[1] != AlertState.CLOSED and row[2] != user.pk]
    if changing:
        now = timezone.now()
        # The WHERE clause is the guard: the rows are locked, so it matches exactly the rows read above.
        Alert.objects.filter(pk__in=[row[0] for row in changing]).exclude(state=AlertState.CLOSED).update(
            owner=user, updated_at=now)
        actor_user, label = actor_fields(actor)
        actor_id = actor_user.pk if actor_user is not None else None
        insert_rows(AlertEvent, ("alert_id", "at", "actor_id", "actor_label", "action", "from_state", "to_state",
                                 "owner_id", "note"),
                    [(pk, now, actor_id, label, AlertEvent.Action.ASSIGN, state, state, user.pk, "")
                     for pk, state, *_ in changing])
        record_type = record_type_of(Alert)
        audit_log_bulk(actor=actor, action="UPDATE", reason=f"assigned to {user.get_username()} (bulk)", entries=[
            AuditEntry(record_type, str(row[0]), _case_row(row), _case_row(row, owner_id=user.pk))
            for row in changing])
    return BulkAssignResult(assigned=[row[0] for row in changing], unchanged=unchanged, skipped_closed=closed)


def _case_row(row, *, owner_id=None) -> dict:
    _pk, state, current_owner, disposition, escalated_at, closed_at = row
    return {"state": state, "owner_id": owner_id if owner_id is not None else current_owner,
            "disposition": disposition, "escalated_at": escalated_at, "closed_at": closed_at}
