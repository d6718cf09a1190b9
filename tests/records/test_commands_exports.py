"""The export_records command: writes the day's files and their manifest, and verifies them."""

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_export_records_command_writes_and_verifies(export_book, day, capsys):
    call_command("export_records", "--date", str(day))
    out = capsys.readouterr().out
    assert "trades.csv" in out and "verifies" in out
    call_command("export_records", "--date", str(day), "--verify")
    assert "every file matches" in capsys.readouterr().out
