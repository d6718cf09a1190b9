"""The verify_audit command, on a trail sealed by the seal task."""

import pytest

from records.audit.models import AuditSeal
from tests.records.helpers_audit import behind_the_apps_back, write

pytestmark = pytest.mark.django_db


def test_verify_command_and_seal_task(db, capsys):
    from django.core.management import CommandError, call_command

    from records.audit.tasks import audit_seal_task

    write(3)
    audit_seal_task.delay()
    assert AuditSeal.objects.count() == 3
    call_command("verify_audit")
    assert "audit trail intact" in capsys.readouterr().out
    with behind_the_apps_back() as cursor:
        cursor.execute("DELETE FROM records_auditrecord WHERE id = (SELECT MIN(id) FROM records_auditrecord)")
    with pytest.raises(CommandError, match="records missing"):
        call_command("verify_audit")
