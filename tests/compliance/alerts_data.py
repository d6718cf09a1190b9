"""Alerts for the tests of the alert workflow, API and pages: raised through alerts_raise, as the rules raise them."""

from datetime import date, timedelta

from django.utils import timezone

from compliance.alerts.models import Alert
from compliance.alerts.services import AlertDraft, alerts_raise
from compliance.rules.models import ComplianceRule


def raise_alerts(n: int = 1, *, rule_code: str = "wash-trades", account=None, instrument=None, start: int = 1,
                 business_date: date = date(2026, 12, 1), subject_type: str = "TRADE") -> list[Alert]:
    """Raise n alerts of a rule (subjects start, start+1, ...); return them, oldest id first."""
    rule = ComplianceRule.objects.get(code=rule_code)
    drafts = [AlertDraft(rule=rule, subject_type=subject_type, subject_id=k, dedupe_key=f"{subject_type}:{k}",
                         business_date=business_date, summary=f"{rule.code} hit on {subject_type.lower()} {k}",
                         account_id=account.pk if account else None,
                         instrument_id=instrument.pk if instrument else None,
                         evidence={"records": [{"type": subject_type, "id": k, "label": f"{subject_type} {k} label"}],
                                   "figures": {"price_band_pct": "0.5", "window_minutes": "30"}})
              for k in range(start, start + n)]
    ids = alerts_raise(actor="surveillance", drafts=drafts)
    return list(Alert.objects.filter(pk__in=ids).order_by("pk"))


def age(alert: Alert, *, hours: float) -> Alert:
    """Move the alert's opening back by hours (its due time with it): an alert that is that old."""
    shift = timedelta(hours=hours)
    Alert.objects.filter(pk=alert.pk).update(opened_at=alert.opened_at - shift, due_at=alert.due_at - shift)
    alert.refresh_from_db()
    return alert


def now():
    return timezone.now()
