"""load_settlement_demo: SSIs of the demo counterparties, a few counterparty failures, every past settlement date
settled in order, with partials and fails left, idempotently; the books stay in step."""

from collections import defaultdict
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from backoffice.core.jobs.models import JobRun
from records.audit.models import AuditRecord
from records.cash.models import CashBalance, CashMovement
from records.positions.models import Position, StockMovement
from settlements.models import SettlementFail, SettlementInstruction, SettlementMovement, SettlementRun

pytestmark = pytest.mark.django_db


def run(command: str, *args) -> str:
    out = StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def settled():
    run("load_demo", "--trades", "400")
    run("load_clearing_demo")
    return run("load_settlement_demo")


def test_the_demo_releases_the_held_instructions_and_settles_every_past_date_in_order(settled):
    today = timezone.localdate()
    assert not SettlementInstruction.objects.filter(status="HELD").exists()
    runs = list(SettlementRun.objects.select_related("job").order_by("id"))
    assert runs and {r.job.status for r in runs} == {JobRun.Status.COMPLETED}
    assert [r.settlement_date for r in runs] == sorted(r.settlement_date for r in runs)
    assert max(r.settlement_date for r in runs) < today
    past = SettlementInstruction.objects.filter(settlement_date__lt=today)
    assert past.filter(status="SETTLED").count() > 0.5 * past.count()
    assert not past.filter(status="PENDING").exists()
    statuses = set(past.values_list("status", flat=True))
    assert "FAILED" in statuses or "PARTIAL" in statuses
    assert SettlementFail.objects.filter(cause="COUNTERPARTY", closed_on=None).count() == 3
    assert "settlement" in settled and "SSIs" in settled


def test_the_books_stay_in_step(settled):
    opening = defaultdict(Decimal)
    for account_id, instrument_id, quantity in StockMovement.objects.values_list("account_id", "instrument_id",
                                                                                 "quantity"):
        opening[(account_id, instrument_id)] += quantity
    moved = defaultdict(Decimal)
    for account_id, instrument_id, quantity in SettlementMovement.objects.values_list("account_id", "instrument_id",
                                                                                      "quantity"):
        moved[(account_id, instrument_id)] += quantity
    for p in Position.objects.all():
        key = (p.account_id, p.instrument_id)
        assert p.settled_quantity == opening[key] + moved[key], key
        assert p.traded_quantity == p.settled_quantity + p.pending_receipt - p.pending_delivery, key
    cash = defaultdict(Decimal)
    for account_id, currency, amount in CashMovement.objects.values_list("account_id", "currency", "amount"):
        cash[(account_id, currency)] += amount
    for b in CashBalance.objects.all():
        assert b.balance == cash[(b.account_id, b.currency)]


def test_running_it_again_changes_nothing(settled):
    counts = (SettlementRun.objects.count(), SettlementMovement.objects.count(), SettlementFail.objects.count(),
              AuditRecord.objects.filter(record_type__startswith="settlements.").count())

    output = run("load_settlement_demo")

    assert (SettlementRun.objects.count(), SettlementMovement.objects.count(), SettlementFail.objects.count(),
            AuditRecord.objects.filter(record_type__startswith="settlements.").count()) == counts
    assert "every past settlement date already settled" in output
