"""What the trades still have to settle, per settlement date, instrument, currency and account, kept by PostgreSQL
as the trades change (the inventory page's pending-settlement projection).

A trade still has something to settle while its status is BOOKED, CLEARED, FAILED or PARTIALLY_SETTLED and its
settled quantity is below its quantity; records/positions/projection.py shows that unsettled part by date.
Filtering the trades by status reads the whole blotter (no index of records_trade may name status: netting and
settlement must be HOT updates, migration 0017), and the open trades are few, so this table holds their sums and
statement-level triggers on records_trade keep it exact whatever changes a trade, set-based, as
compliance/migrations/0004_booked_buys.py keeps the booked buys: one upsert per INSERT, UPDATE or DELETE statement
(COPY included) from its transition tables, rows taken in key order so that two statements never wait for each
other in a cycle. An UPDATE adds its new rows less its old ones and writes only the keys whose sums moved:
netting's BOOKED -> CLEARED changes nothing here and writes nothing. A key whose last open trade settles (or is
cancelled, amended away or deleted) is deleted by a second statement, on the keys the upsert left at zero trades
only, so the table holds the open keys and nothing else. TRUNCATE of the trades (a test database's flush)
empties it.

The key leads with the settlement date, the projection's order (the earliest dates first). The id is only a
handle for Django (records.positions.models.PendingSettlementTotal, unmanaged, read-only; the admin needs a
single-column primary key). Nothing but these triggers writes the table.
"""

from django.db import migrations, models

# A trade counts while it has something to settle: its unsettled quantity (quantity less settled quantity) to
# receive (a buy) or deliver (a sell), that quantity at its price in cash, and itself (trades). An UPDATE counts
# its new rows (sign 1) and takes off its old ones (sign -1); a key whose every sum is then zero is not written
# (netting's BOOKED -> CLEARED). The upsert returns the keys it left with no open trade, and the second
# statement deletes those rows, which the upsert holds locked: nothing can have reopened them meanwhile.
FORWARD = """
CREATE TABLE records_pendingsettlement (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    settlement_date date NOT NULL,
    instrument_id bigint NOT NULL,
    currency varchar(3) NOT NULL,
    account_id bigint NOT NULL,
    receive numeric NOT NULL,
    deliver numeric NOT NULL,
    cash_out numeric NOT NULL,
    cash_in numeric NOT NULL,
    trades bigint NOT NULL,
    CONSTRAINT records_pendingsettlement_key UNIQUE (settlement_date, instrument_id, currency, account_id)
);

CREATE FUNCTION records_pendingsettlement_apply() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    emptied_dates date[];
    emptied_instruments bigint[];
    emptied_currencies varchar[];
    emptied_accounts bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO records_pendingsettlement AS p (settlement_date, instrument_id, currency, account_id,
                                                    receive, deliver, cash_out, cash_in, trades)
        SELECT settlement_date, instrument_id, currency, account_id,
               COALESCE(SUM(quantity - settled_quantity) FILTER (WHERE side = 'BUY'), 0),
               COALESCE(SUM(quantity - settled_quantity) FILTER (WHERE side = 'SELL'), 0),
               COALESCE(SUM((quantity - settled_quantity) * price) FILTER (WHERE side = 'BUY'), 0),
               COALESCE(SUM((quantity - settled_quantity) * price) FILTER (WHERE side = 'SELL'), 0),
               COUNT(*)
        FROM new_rows
        WHERE status IN ('BOOKED', 'CLEARED', 'FAILED', 'PARTIALLY_SETTLED') AND settled_quantity < quantity
        GROUP BY settlement_date, instrument_id, currency, account_id
        ORDER BY settlement_date, instrument_id, currency, account_id
        ON CONFLICT (settlement_date, instrument_id, currency, account_id) DO UPDATE
        SET receive = p.receive + excluded.receive, deliver = p.deliver + excluded.deliver,
            cash_out = p.cash_out + excluded.cash_out, cash_in = p.cash_in + excluded.cash_in,
            trades = p.trades + excluded.trades;
        RETURN NULL;
    END IF;

    IF TG_OP = 'UPDATE' THEN
        WITH written AS (
            INSERT INTO records_pendingsettlement AS p (settlement_date, instrument_id, currency, account_id,
                                                        receive, deliver, cash_out, cash_in, trades)
            SELECT * FROM (
                SELECT settlement_date, instrument_id, currency, account_id,
                       COALESCE(SUM(sign * unsettled) FILTER (WHERE side = 'BUY'), 0) AS receive,
                       COALESCE(SUM(sign * unsettled) FILTER (WHERE side = 'SELL'), 0) AS deliver,
                       COALESCE(SUM(sign * unsettled * price) FILTER (WHERE side = 'BUY'), 0) AS cash_out,
                       COALESCE(SUM(sign * unsettled * price) FILTER (WHERE side = 'SELL'), 0) AS cash_in,
                       SUM(sign) AS trades
                FROM (
                    SELECT 1 AS sign, settlement_date, instrument_id, currency, account_id, side,
                           quantity - settled_quantity AS unsettled, price
                    FROM new_rows
                    WHERE status IN ('BOOKED', 'CLEARED', 'FAILED', 'PARTIALLY_SETTLED')
                      AND settled_quantity < quantity
                    UNION ALL
                    SELECT -1, settlement_date, instrument_id, currency, account_id, side,
                           quantity - settled_quantity, price
                    FROM old_rows
                    WHERE status IN ('BOOKED', 'CLEARED', 'FAILED', 'PARTIALLY_SETTLED')
                      AND settled_quantity < quantity
                ) AS d
                GROUP BY settlement_date, instrument_id, currency, account_id
            ) AS delta
            WHERE receive <> 0 OR deliver <> 0 OR cash_out <> 0 OR cash_in <> 0 OR trades <> 0
            ORDER BY settlement_date, instrument_id, currency, account_id
            ON CONFLICT (settlement_date, instrument_id, currency, account_id) DO UPDATE
            SET receive = p.receive + excluded.receive, deliver = p.deliver + excluded.deliver,
                cash_out = p.cash_out + excluded.cash_out, cash_in = p.cash_in + excluded.cash_in,
                trades = p.trades + excluded.trades
            RETURNING settlement_date, instrument_id, currency, account_id, trades)
        SELECT array_agg(settlement_date), array_agg(instrument_id), array_agg(currency), array_agg(account_id)
        INTO emptied_dates, emptied_instruments, emptied_currencies, emptied_accounts
        FROM written WHERE trades = 0;
    ELSE
        WITH written AS (
            INSERT INTO records_pendingsettlement AS p (settlement_date, instrument_id, currency, account_id,
                                                        receive, deliver, cash_out, cash_in, trades)
            SELECT settlement_date, instrument_id, currency, account_id,
                   -COALESCE(SUM(quantity - settled_quantity) FILTER (WHERE side = 'BUY'), 0),
                   -COALESCE(SUM(quantity - settled_quantity) FILTER (WHERE side = 'SELL'), 0),
                   -COALESCE(SUM((quantity - settled_quantity) * price) FILTER (WHERE side = 'BUY'), 0),
                   -COALESCE(SUM((quantity - settled_quantity) * price) FILTER (WHERE side = 'SELL'), 0),
                   -COUNT(*)
            FROM old_rows
            WHERE status IN ('BOOKED', 'CLEARED', 'FAILED', 'PARTIALLY_SETTLED') AND settled_quantity < quantity
            GROUP BY settlement_date, instrument_id, currency, account_id
            ORDER BY settlement_date, instrument_id, currency, account_id
            ON CONFLICT (settlement_date, instrument_id, currency, account_id) DO UPDATE
            SET receive = p.receive + excluded.receive, deliver = p.deliver + excluded.deliver,
                cash_out = p.cash_out + excluded.cash_out, cash_in = p.cash_in + excluded.cash_in,
                trades = p.trades + excluded.trades
            RETURNING settlement_date, instrument_id, currency, account_id, trades)
        SELECT array_agg(settlement_date), array_agg(instrument_id), array_agg(currency), array_agg(account_id)
        INTO emptied_dates, emptied_instruments, emptied_currencies, emptied_accounts
        FROM written WHERE trades = 0;
    END IF;

    IF emptied_dates IS NOT NULL THEN
        DELETE FROM records_pendingsettlement AS p
        USING unnest(emptied_dates, emptied_instruments, emptied_currencies, emptied_accounts)
            AS e (settlement_date, instrument_id, currency, account_id)
        WHERE p.settlement_date = e.settlement_date AND p.instrument_id = e.instrument_id
          AND p.currency = e.currency AND p.account_id = e.account_id AND p.trades = 0;
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION records_pendingsettlement_clear() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM records_pendingsettlement;
    RETURN NULL;
END $$;

CREATE TRIGGER records_pendingsettlement_insert AFTER INSERT ON records_trade
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION records_pendingsettlement_apply();
CREATE TRIGGER records_pendingsettlement_update AFTER UPDATE ON records_trade
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION records_pendingsettlement_apply();
CREATE TRIGGER records_pendingsettlement_delete AFTER DELETE ON records_trade
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION records_pendingsettlement_apply();
CREATE TRIGGER records_pendingsettlement_truncate AFTER TRUNCATE ON records_trade
    FOR EACH STATEMENT EXECUTE FUNCTION records_pendingsettlement_clear();

INSERT INTO records_pendingsettlement (settlement_date, instrument_id, currency, account_id,
                                       receive, deliver, cash_out, cash_in, trades)
SELECT settlement_date, instrument_id, currency, account_id,
       COALESCE(SUM(quantity - settled_quantity) FILTER (WHERE side = 'BUY'), 0),
       COALESCE(SUM(quantity - settled_quantity) FILTER (WHERE side = 'SELL'), 0),
       COALESCE(SUM((quantity - settled_quantity) * price) FILTER (WHERE side = 'BUY'), 0),
       COALESCE(SUM((quantity - settled_quantity) * price) FILTER (WHERE side = 'SELL'), 0),
       COUNT(*)
FROM records_trade
WHERE status IN ('BOOKED', 'CLEARED', 'FAILED', 'PARTIALLY_SETTLED') AND settled_quantity < quantity
GROUP BY settlement_date, instrument_id, currency, account_id;
"""

BACKWARD = """
DROP TRIGGER records_pendingsettlement_truncate ON records_trade;
DROP TRIGGER records_pendingsettlement_delete ON records_trade;
DROP TRIGGER records_pendingsettlement_update ON records_trade;
DROP TRIGGER records_pendingsettlement_insert ON records_trade;
DROP FUNCTION records_pendingsettlement_clear();
DROP FUNCTION records_pendingsettlement_apply();
DROP TABLE records_pendingsettlement;
"""


class Migration(migrations.Migration):
    dependencies = [("records", "0018_tradefile_retention_policy")]
    operations = [
        migrations.RunSQL(FORWARD, BACKWARD),
        # Django's view of the table (records.positions.models.PendingSettlementTotal): unmanaged, so this writes
        # nothing; the table is the SQL above.
        migrations.CreateModel(
            name="PendingSettlementTotal",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("settlement_date", models.DateField()),
                ("currency", models.CharField(max_length=3)),
                ("receive", models.DecimalField(decimal_places=6, max_digits=24)),
                ("deliver", models.DecimalField(decimal_places=6, max_digits=24)),
                ("cash_out", models.DecimalField(decimal_places=14, max_digits=48)),
                ("cash_in", models.DecimalField(decimal_places=14, max_digits=48)),
                ("trades", models.BigIntegerField()),
                ("account", models.ForeignKey(db_constraint=False, on_delete=models.DO_NOTHING, related_name="+",
                                              to="records.account")),
                ("instrument", models.ForeignKey(db_constraint=False, on_delete=models.DO_NOTHING, related_name="+",
                                                 to="records.instrument")),
            ],
            options={"db_table": "records_pendingsettlement", "managed": False,
                     "ordering": ["settlement_date", "instrument_id", "currency", "account_id"]},
        ),
    ]
