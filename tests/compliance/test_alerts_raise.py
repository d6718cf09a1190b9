"""alerts_raise: set-based, one alert per rule and dedupe key whatever the reruns, each with its OPEN event
and its audit record."""

from datetime import date, timedelta

import pytest

from compliance.alerts.models import Alert, AlertEvent
from compliance.alerts.services import AlertDraft, alerts_raise
from compliance.rules.models import ComplianceRule
from records.audit.models import AuditRecord

pytestmark = pytest.mark.django_db


def _drafts(rule, keys):
    return [AlertDraft(rule=rule, subject_type="TRADE", subject_id=n, dedupe_key=f"trade:{n}",
                       business_date=date(2026, 12, 1), summary=f"hit {n}",
                       evidence={"records": [{"type": "TRADE", "id": n, "label": f"trade {n}"}]}) for n in keys]


def test_a_rerun_raises_nothing_twice_and_each_alert_has_its_event_and_audit_record():
    rule = ComplianceRule.objects.get(code="wash-trades")
    first = alerts_raise(actor="surveillance", drafts=_drafts(rule, [1, 2, 3]), job_id=7)
    again = alerts_raise(actor="surveillance", drafts=_drafts(rule, [2, 3, 4, 4]))
    assert len(first) == 3 and len(again) == 1
    alerts = Alert.objects.filter(rule=rule).order_by("subject_id")
    assert [a.subject_id for a in alerts] == [1, 2, 3, 4]
    assert [a.job_id for a in alerts] == [7, 7, 7, None]
    a = alerts[0]
    assert (a.state, a.severity, a.rule_version, a.kind) == ("OPEN", "HIGH", 1, "WASH_TRADE")
    assert a.due_at - a.opened_at == timedelta(hours=24)
    assert a.evidence == {"records": [{"type": "TRADE", "id": 1, "label": "trade 1"}]}
    assert AlertEvent.objects.filter(alert__rule=rule, action="OPEN").count() == 4
    assert AuditRecord.objects.filter(record_type="compliance.alert", action="CREATE").count() == 4


def test_nothing_to_raise_writes_nothing():
    assert alerts_raise(actor="surveillance", drafts=[]) == []
    assert not Alert.objects.exists()
