"""Audit records, seals and blocks are append-only: the models refuse to change them, and so does PostgreSQL."""

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError

from records.audit.models import AuditBlock, AuditRecord, AuditSeal
from records.audit.services.audit_chain import audit_seal, audit_verify
from tests.records.helpers_audit import write

pytestmark = pytest.mark.django_db


def test_the_application_refuses_to_edit_or_delete_audit_records(db):
    write(1)
    audit_seal()
    record = AuditRecord.objects.get()
    record.reason = "changed"
    with pytest.raises(PermissionError):
        record.save()
    with pytest.raises(PermissionError):
        record.delete()
    with pytest.raises(PermissionError):
        AuditRecord.objects.update(reason="x")
    with pytest.raises(PermissionError):
        AuditRecord.objects.all().delete()
    with pytest.raises(PermissionError):
        AuditSeal.objects.all().delete()
    assert audit_verify().ok


def test_postgresql_itself_refuses_updates_and_deletes(db):
    write(1)
    audit_seal()
    for sql in ("UPDATE records_auditrecord SET reason = 'x'", "DELETE FROM records_auditrecord",
                "DELETE FROM records_auditseal", "UPDATE records_auditblock SET sealed_by = 'x'"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as c:
            c.execute(sql)
    assert audit_verify().ok
    assert AuditBlock.objects.count() == 1
