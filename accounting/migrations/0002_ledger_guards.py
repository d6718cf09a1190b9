"""The ledger's guards in PostgreSQL, so no code path (nor a hand-written statement) can break them.

- Posted entries, their lines and lot movements are append-only: UPDATE and DELETE are refused.
- Every INSERT of lines balances per entry and currency, and per entry in the base currency
  (a statement-level trigger over the inserted rows: one aggregate per statement, not per row).
- No entry is dated in a closed period (likewise per statement).
"""

from django.db import migrations

GUARDS = """
CREATE OR REPLACE FUNCTION accounting_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'posted ledger records are never changed: % on % refused (post a reversal instead)',
        TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER accounting_journalentry_append_only BEFORE UPDATE OR DELETE ON accounting_journalentry
    FOR EACH ROW EXECUTE FUNCTION accounting_append_only();
CREATE TRIGGER accounting_journalline_append_only BEFORE UPDATE OR DELETE ON accounting_journalline
    FOR EACH ROW EXECUTE FUNCTION accounting_append_only();
CREATE TRIGGER accounting_lotmovement_append_only BEFORE UPDATE OR DELETE ON accounting_lotmovement
    FOR EACH ROW EXECUTE FUNCTION accounting_append_only();

CREATE OR REPLACE FUNCTION accounting_lines_balance() RETURNS trigger AS $$
DECLARE
    bad record;
BEGIN
    SELECT entry_id, currency, sum(amount) AS off INTO bad FROM new_lines
        GROUP BY entry_id, currency HAVING sum(amount) <> 0 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'journal entry % does not balance in %: debits - credits = %',
            bad.entry_id, bad.currency, bad.off USING ERRCODE = 'check_violation';
    END IF;
    SELECT entry_id, sum(base_amount) AS off INTO bad FROM new_lines
        GROUP BY entry_id HAVING sum(base_amount) <> 0 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'journal entry % does not balance in the base currency: debits - credits = %',
            bad.entry_id, bad.off USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER accounting_journalline_balances AFTER INSERT ON accounting_journalline
    REFERENCING NEW TABLE AS new_lines FOR EACH STATEMENT EXECUTE FUNCTION accounting_lines_balance();

CREATE OR REPLACE FUNCTION accounting_open_period() RETURNS trigger AS $$
DECLARE
    bad record;
BEGIN
    SELECT e.id, e.entry_date INTO bad FROM new_entries AS e
        JOIN accounting_period AS p ON e.entry_date BETWEEN p.start AND p."end"
        WHERE p.status = 'CLOSED' LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'the period of % is closed: journal entry % refused', bad.entry_date, bad.id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER accounting_journalentry_open_period AFTER INSERT ON accounting_journalentry
    REFERENCING NEW TABLE AS new_entries FOR EACH STATEMENT EXECUTE FUNCTION accounting_open_period();
"""

DROP = """
DROP TRIGGER IF EXISTS accounting_journalentry_open_period ON accounting_journalentry;
DROP TRIGGER IF EXISTS accounting_journalline_balances ON accounting_journalline;
DROP TRIGGER IF EXISTS accounting_lotmovement_append_only ON accounting_lotmovement;
DROP TRIGGER IF EXISTS accounting_journalline_append_only ON accounting_journalline;
DROP TRIGGER IF EXISTS accounting_journalentry_append_only ON accounting_journalentry;
DROP FUNCTION IF EXISTS accounting_open_period();
DROP FUNCTION IF EXISTS accounting_lines_balance();
DROP FUNCTION IF EXISTS accounting_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("accounting", "0001_ledger")]

    operations = [migrations.RunSQL(GUARDS, DROP)]
