"""The cost of each account's booked buys per instrument and currency, kept by PostgreSQL as trades change
(buying power).

The BUYING_POWER pre-trade rule counts what an account's buys booked but not yet instructed will cost
(status BOOKED: clearing has not netted them, so no settlement instruction has reserved their cash). Summing
those trades for every batch costs as much as there are of them; this table holds the sum per (account,
instrument, currency), and statement-level triggers on records_trade keep it exact whatever changes a trade, set-based:
one upsert per INSERT, UPDATE or DELETE statement (COPY included) from its transition tables, rows taken in
key order. TRUNCATE of the trades (a test database's flush) empties it. The grain is a position's
(account, instrument): a statement changing trades locks only the rows of the positions it touches, as
trade capture does already, so netting and settlement chunks over different instruments never wait for
each other here (one row per account and currency made them queue). Buying power sums an account's rows. compliance/pretrade_selectors.py
reads it; nothing else writes it.
"""

from django.db import migrations

FORWARD = """
CREATE TABLE compliance_bookedbuys (
    account_id bigint NOT NULL,
    instrument_id bigint NOT NULL,
    currency varchar(3) NOT NULL,
    cost numeric NOT NULL,
    PRIMARY KEY (account_id, currency, instrument_id)
);

CREATE FUNCTION compliance_bookedbuys_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO compliance_bookedbuys AS b (account_id, currency, instrument_id, cost)
        SELECT account_id, currency, instrument_id, SUM(quantity * price + commission) FROM new_rows
        WHERE status = 'BOOKED' AND side = 'BUY'
        GROUP BY account_id, currency, instrument_id ORDER BY account_id, currency, instrument_id
        ON CONFLICT (account_id, currency, instrument_id) DO UPDATE SET cost = b.cost + excluded.cost;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO compliance_bookedbuys AS b (account_id, currency, instrument_id, cost)
        SELECT account_id, currency, instrument_id, SUM(cost) FROM (
            SELECT account_id, currency, instrument_id, quantity * price + commission AS cost FROM new_rows
            WHERE status = 'BOOKED' AND side = 'BUY'
            UNION ALL
            SELECT account_id, currency, instrument_id, -(quantity * price + commission) FROM old_rows
            WHERE status = 'BOOKED' AND side = 'BUY') AS d
        GROUP BY account_id, currency, instrument_id HAVING SUM(cost) <> 0
        ORDER BY account_id, currency, instrument_id
        ON CONFLICT (account_id, currency, instrument_id) DO UPDATE SET cost = b.cost + excluded.cost;
    ELSE
        INSERT INTO compliance_bookedbuys AS b (account_id, currency, instrument_id, cost)
        SELECT account_id, currency, instrument_id, -SUM(quantity * price + commission) FROM old_rows
        WHERE status = 'BOOKED' AND side = 'BUY'
        GROUP BY account_id, currency, instrument_id ORDER BY account_id, currency, instrument_id
        ON CONFLICT (account_id, currency, instrument_id) DO UPDATE SET cost = b.cost + excluded.cost;
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION compliance_bookedbuys_clear() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM compliance_bookedbuys;
    RETURN NULL;
END $$;

CREATE TRIGGER compliance_bookedbuys_insert AFTER INSERT ON records_trade
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION compliance_bookedbuys_apply();
CREATE TRIGGER compliance_bookedbuys_update AFTER UPDATE ON records_trade
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION compliance_bookedbuys_apply();
CREATE TRIGGER compliance_bookedbuys_delete AFTER DELETE ON records_trade
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION compliance_bookedbuys_apply();
CREATE TRIGGER compliance_bookedbuys_truncate AFTER TRUNCATE ON records_trade
    FOR EACH STATEMENT EXECUTE FUNCTION compliance_bookedbuys_clear();

INSERT INTO compliance_bookedbuys (account_id, currency, instrument_id, cost)
SELECT account_id, currency, instrument_id, SUM(quantity * price + commission) FROM records_trade
WHERE status = 'BOOKED' AND side = 'BUY' GROUP BY account_id, currency, instrument_id;
"""

BACKWARD = """
DROP TRIGGER compliance_bookedbuys_truncate ON records_trade;
DROP TRIGGER compliance_bookedbuys_delete ON records_trade;
DROP TRIGGER compliance_bookedbuys_update ON records_trade;
DROP TRIGGER compliance_bookedbuys_insert ON records_trade;
DROP FUNCTION compliance_bookedbuys_clear();
DROP FUNCTION compliance_bookedbuys_apply();
DROP TABLE compliance_bookedbuys;
"""


class Migration(migrations.Migration):
    dependencies = [("compliance", "0003_default_rules"), ("records", "0014_tradeevent_reject")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
