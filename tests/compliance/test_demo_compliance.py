"""load_compliance_demo: the patterns planted through the services, every past business day surveyed once, alerts
in the queue for a new user, and a rerun that surveys and raises nothing."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from backoffice.core.jobs.models import JobRun
from compliance.alerts.models import Alert, AlertEvent
from records.cash.models import CashMovement
from records.trades.models import Trade

pytestmark = pytest.mark.django_db


def run(command: str, *args) -> str:
    out = StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue()


@pytest.mark.default_rules
def test_the_demo_surveys_every_past_business_day_once_and_fills_the_alert_queue():
    run("load_demo", "--trades", "300")
    run("load_clearing_demo")
    run("load_settlement_demo")
    output = run("load_compliance_demo")

    runs = JobRun.objects.filter(kind="compliance-surveillance")
    dates = sorted(runs.values_list("parameters__trade_date", flat=True))
    assert dates and len(dates) == len(set(dates)) and set(runs.values_list("status", flat=True)) == {"COMPLETED"}
    assert dates[-1] == timezone.localdate().isoformat() or dates[-1] < timezone.localdate().isoformat()
    assert "Compliance demo ready" in output

    structuring = Alert.objects.get(kind="STRUCTURING")
    assert structuring.account.code == "CL-FO-001"
    assert structuring.evidence["figures"]["movements"] == "3"
    assert CashMovement.objects.filter(reference__startswith="DEMO-COMPLIANCE-STRUCT-").count() == 3
    wash_trades = Trade.objects.filter(external_ref__startswith="DEMO-COMPLIANCE-WASH")
    assert wash_trades.count() == 2 and set(wash_trades.values_list("status", flat=True)) == {"BOOKED"}
    wash = Alert.objects.filter(kind="WASH_TRADE", account__code="CL-HF-001",
                                business_date=wash_trades.first().trade_date).get()
    assert {r["id"] for r in wash.evidence["records"]} >= set(wash_trades.values_list("id", flat=True))

    # The queue as an officer worked it: what is more than a week old closed with a disposition, the older half of
    # the rest assigned, the latest left for the team.
    week_ago = timezone.localdate() - timedelta(days=7)
    old = Alert.objects.filter(business_date__lt=week_ago)
    assert old.exists() and set(old.values_list("state", flat=True)) == {"CLOSED"}
    assert not old.filter(disposition="").exists()
    closes = AlertEvent.objects.filter(action="CLOSE")
    assert set(closes.values_list("actor__username", flat=True)) == {"c.officer"}
    recent = Alert.objects.filter(business_date__gte=week_ago)
    assert set(recent.values_list("state", flat=True)) == {"OPEN"}
    assert recent.filter(owner__username="c.officer").count() == recent.count() // 2
    assert closes.count() == old.count()

    states = sorted(Alert.objects.values_list("id", "state", "owner_id"))
    alerts, jobs = Alert.objects.count(), runs.count()
    again = run("load_compliance_demo")
    assert "already surveyed" in again
    assert (Alert.objects.count(), runs.count()) == (alerts, jobs)
    assert sorted(Alert.objects.values_list("id", "state", "owner_id")) == states
    assert CashMovement.objects.filter(reference__startswith="DEMO-COMPLIANCE-").count() == 3
