"""load_clearing_demo: the demo trades confirmed and their past settlement dates netted, idempotently."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Sum
from django.utils import timezone

from backoffice.core.jobs.models import JobRun
from clearing.models import ClearingRun, Confirmation, NettedTrade, Obligation
from records.audit.models import AuditRecord
from records.trades.models import Trade

pytestmark = pytest.mark.django_db


def run(command: str, *args) -> str:
    out = StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def cleared():
    run("load_demo", "--trades", "400")
    return run("load_clearing_demo")


def test_the_demo_confirms_most_trades_and_leaves_breaks_of_every_kind(cleared):
    statuses = dict(Confirmation.objects.values_list("match_status").annotate(n=Sum(1)).order_by())
    confirming = Trade.objects.filter(external_ref__startswith="DEMO-", counterparty__requires_matching=True)

    assert statuses["MATCHED"] > 0.8 * confirming.count()
    assert statuses["MISMATCHED"] > 0 and statuses["UNMATCHED"] == 3
    assert Trade.objects.filter(match_status="MATCHED").count() == statuses["MATCHED"]
    assert confirming.filter(match_status="UNMATCHED").exists()  # trades still waiting for a confirmation
    assert "confirmations" in cleared


def test_the_demo_nets_every_past_settlement_date_and_only_eligible_trades(cleared):
    today = timezone.localdate()
    runs = ClearingRun.objects.select_related("job")
    past = set(Trade.objects.filter(settlement_date__lt=today).values_list("settlement_date", flat=True))

    assert {r.settlement_date for r in runs} == past
    assert {r.job.status for r in runs} == {JobRun.Status.COMPLETED}
    netted = Trade.objects.filter(netting__isnull=False)
    assert netted.count() == NettedTrade.objects.count() == sum(r.trades_netted for r in runs) > 0
    assert set(netted.values_list("status", flat=True)) == {"CLEARED"}
    assert not netted.filter(counterparty__requires_matching=True).exclude(match_status="MATCHED").exists()
    assert not Trade.objects.filter(settlement_date__gte=today, status="CLEARED").exists()
    assert Obligation.objects.aggregate(n=Sum("trade_count"))["n"] == netted.count()


def test_running_it_again_changes_nothing(cleared):
    counts = (Confirmation.objects.count(), ClearingRun.objects.count(), Obligation.objects.count(),
              AuditRecord.objects.filter(record_type__startswith="clearing.").count())

    output = run("load_clearing_demo")

    assert (Confirmation.objects.count(), ClearingRun.objects.count(), Obligation.objects.count(),
            AuditRecord.objects.filter(record_type__startswith="clearing.").count()) == counts
    assert "every past settlement date already netted" in output
