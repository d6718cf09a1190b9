"""Writes of alerts: raising them (set-based, idempotent) and the steps of their cases.

alerts_raise is what every rule that alerts calls (the surveillance scenarios, pre-trade rules whose
action is ALERT): one INSERT ... ON CONFLICT DO NOTHING for the whole batch, so an alert already raised
for the same rule and dedupe key is never raised twice (a rerun, two runs at once); the alerts it did
insert get their OPEN event and their audit record in the same transaction.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from backoffice.core.bulk import insert_rows
from backoffice.core.canonical import canonical_json
from compliance.alerts.models import Alert, AlertEvent, AlertState
from compliance.rules.models import ComplianceRule
from records.audit.services.audit import Actor, AuditEntry, actor_fields, audit_log_bulk, record_type_of


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
