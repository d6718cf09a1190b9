"""A generation number that changes whenever a compliance rule does, so that a process may keep the pre-trade
rules in memory and still never check a trade against rules that are out of date.

compliance.pretrade keeps the active pre-trade rules per process with the generation it read before them. Each
batch of trades reads the generation again in the same round trip as the data its rules need, and reloads the
rules when the number differs. Statement-level triggers on compliance_compliancerule set it, for every change
however made (the services, the admin, a queryset update, a flush's TRUNCATE):

* the number comes from a sequence, so a value is never used twice: a transaction that changed rules and
  rolled back leaves behind a number no one will see again, never one a later change could repeat;
* it is stored in a one-row table, in the changing transaction, so it becomes visible with the rules
  themselves (a reader in READ COMMITTED that sees the new number sees the new rules, as it reads the number
  first).
"""

from django.db import migrations

FORWARD = """
CREATE SEQUENCE compliance_rulesgeneration_seq;
CREATE TABLE compliance_rulesgeneration (
    id smallint PRIMARY KEY CHECK (id = 1),
    generation bigint NOT NULL
);
INSERT INTO compliance_rulesgeneration (id, generation) VALUES (1, nextval('compliance_rulesgeneration_seq'));

CREATE FUNCTION compliance_rulesgeneration_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE compliance_rulesgeneration SET generation = nextval('compliance_rulesgeneration_seq') WHERE id = 1;
    RETURN NULL;
END $$;

CREATE TRIGGER compliance_rulesgeneration_change AFTER INSERT OR UPDATE OR DELETE ON compliance_compliancerule
    FOR EACH STATEMENT EXECUTE FUNCTION compliance_rulesgeneration_bump();
CREATE TRIGGER compliance_rulesgeneration_truncate AFTER TRUNCATE ON compliance_compliancerule
    FOR EACH STATEMENT EXECUTE FUNCTION compliance_rulesgeneration_bump();
"""

BACKWARD = """
DROP TRIGGER compliance_rulesgeneration_truncate ON compliance_compliancerule;
DROP TRIGGER compliance_rulesgeneration_change ON compliance_compliancerule;
DROP FUNCTION compliance_rulesgeneration_bump();
DROP TABLE compliance_rulesgeneration;
DROP SEQUENCE compliance_rulesgeneration_seq;
"""


class Migration(migrations.Migration):
    dependencies = [("compliance", "0004_booked_buys")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
