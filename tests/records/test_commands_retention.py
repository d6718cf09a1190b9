"""The purge_records command: a dry run counts, a real run purges every registered type."""

from datetime import timedelta

import pytest
from django.core.management import call_command

from records.retention.rules import years_before
from records.trades.models import Trade
from tests.records.helpers_retention import old_trade

pytestmark = pytest.mark.django_db


def test_purge_records_command_dry_run_then_for_real(firm, today, capsys):
    old_trade(firm, years_before(today, 6) - timedelta(days=5))
    call_command("purge_records", "--record-type", "records.trade", "--dry-run")
    assert "would purge 1 in 0 chunks" in capsys.readouterr().out
    assert Trade.objects.count() == 1
    call_command("purge_records")
    out = capsys.readouterr().out
    assert "records.trade" in out and "purged 1 in 1 chunk " in out and "records.auditrecord" in out
    assert Trade.objects.count() == 0
