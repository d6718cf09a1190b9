"""What the audit trail tests write, and how an intruder with database access would change it behind the app's back."""

from contextlib import contextmanager

from django.db import connection, transaction

from records.audit.services.audit import AuditEntry, audit_log, audit_log_bulk


def write(n=5, *, bulk=0):
    with transaction.atomic():
        for i in range(n):
            audit_log(actor="job:test", action="UPDATE", record_type="records.position", record_id=i,
                      before={"q": str(i)}, after={"q": str(i + 1)}, reason="test")
        if bulk:
            audit_log_bulk(actor="job:test", action="CREATE", reason="bulk",
                           entries=[AuditEntry("records.trade", i, None, {"qty": "1.5", "n": i}) for i in range(bulk)])


@contextmanager
def behind_the_apps_back():
    """Raw SQL as an intruder with database access would run it (the append-only triggers switched off)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL backoffice.audit_maintenance = 'on'")
        yield cursor
