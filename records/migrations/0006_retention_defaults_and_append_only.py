from django.db import migrations

SIX = "SEC Rule 17a-4(a): six years (blotters, ledgers, stock record)"
THREE = "SEC Rule 17a-4(b): three years"
POLICIES = [
    ("records.trade", 6, SIX),
    ("records.tradeversion", 6, SIX),
    ("records.tradeevent", 6, SIX),
    ("records.position", 6, SIX),
    ("records.stockmovement", 6, SIX),
    ("records.cashmovement", 6, SIX),
    ("records.cashbalance", 6, SIX),
    ("records.auditrecord", 6, "Audit trail of the books and records: kept as long as the longest of them"),
    ("records.price", 3, THREE),
    ("records.fxrate", 3, THREE),
    ("records.changerequest", 3, THREE),
    ("records.instrument", 3, THREE + ", after the last trade"),
    ("records.account", 6, "SEC Rule 17a-4(c): six years after the account is closed"),
    ("records.counterparty", 3, THREE),
]


def add_policies(apps, schema_editor):
    RetentionPolicy = apps.get_model("records", "RetentionPolicy")
    for record_type, years, rule in POLICIES:
        RetentionPolicy.objects.get_or_create(record_type=record_type, defaults={"retention_years": years,
                                                                                "rule": rule})


# PostgreSQL refuses updates and deletes of the audit trail outright; only a session that sets
# backoffice.audit_maintenance (the retention purge, after its checks) may delete expired rows
# or mark a block pruned.
APPEND_ONLY = """
CREATE OR REPLACE FUNCTION backoffice_audit_append_only() RETURNS trigger AS $$
BEGIN
    IF coalesce(current_setting('backoffice.audit_maintenance', true), '') = 'on' THEN
        RETURN COALESCE(NEW, OLD);
    END IF;
    RAISE EXCEPTION 'the audit trail is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER records_auditrecord_append_only BEFORE UPDATE OR DELETE ON records_auditrecord
    FOR EACH ROW EXECUTE FUNCTION backoffice_audit_append_only();
CREATE TRIGGER records_auditseal_append_only BEFORE UPDATE OR DELETE ON records_auditseal
    FOR EACH ROW EXECUTE FUNCTION backoffice_audit_append_only();
CREATE TRIGGER records_auditblock_append_only BEFORE UPDATE OR DELETE ON records_auditblock
    FOR EACH ROW EXECUTE FUNCTION backoffice_audit_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS records_auditrecord_append_only ON records_auditrecord;
DROP TRIGGER IF EXISTS records_auditseal_append_only ON records_auditseal;
DROP TRIGGER IF EXISTS records_auditblock_append_only ON records_auditblock;
DROP FUNCTION IF EXISTS backoffice_audit_append_only();
"""


def triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(APPEND_ONLY, params=None)


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("records", "0005_records_keeping")]
    operations = [
        migrations.RunPython(add_policies, migrations.RunPython.noop),
        migrations.RunPython(triggers, drop_triggers),
    ]
