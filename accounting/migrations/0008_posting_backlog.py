"""What may be waiting for the next posting run (accounting_postingbacklog), kept by PostgreSQL so that the posting
page and GET posting-backlog/ count a handful of rows instead of anti-joining every trade and settlement movement
with the ledger (accounting.posting.selectors.posting_backlog, docs/scaling.md).

The table holds (source_type, source_id): a superset of the events the posting engine would pick up. The count
rechecks each row against the engine's own condition, so a row that is no longer waiting costs a lookup, never a
wrong figure; what must never happen is an event waiting without its row. Rows come in as events can start to
wait, and go as the ledger catches up:

- trades: inserted (in a position status, statement-level) or changed in what the ledger posts (status in or out
  of the position statuses, or a new version: a row-level trigger whose WHEN clause netting's and settlement's
  status changes never pass, so they queue nothing). The row keeps whether the trade was wanted and its version
  as last written;
- stock movements, net obligations, settlement movements with cash, cash movements other than settlement,
  fail penalties with an amount: inserted (statement-level; they never change once they happen);
- the posting state (trades, stock movements): a row goes once the state matches the trade as the row last saw
  it (posted at that version, or not posted and not wanted). A concurrent change of the trade rewrites the row
  first and so keeps it (the DELETE rechecks the row it waited for). A state left waiting (a reversal not
  reposted) puts its row back;
- journal entries of the other events (source_version 0, posted once): their rows go.

No Django model: only these triggers write the table and only the backlog selector reads it.
"""

from django.db import migrations

WANTED = "('BOOKED', 'CLEARED', 'SETTLED', 'PARTIALLY_SETTLED', 'FAILED')"  # records.trades Trade.POSITION_STATUSES

# The events that post once: (source type, table, which rows post).
EVENTS = (("STOCK", "records_stockmovement", "true"), ("NETTING", "clearing_obligation", "true"),
          ("SETTLEMENT", "settlements_settlementmovement", "e.cash <> 0"),
          ("CASH", "records_cashmovement", "e.kind <> 'SETTLEMENT'"),
          ("PENALTY", "settlements_failpenalty", "e.amount <> 0"))

EVENT_TRIGGERS = "".join(f"""
CREATE FUNCTION accounting_backlog_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO accounting_postingbacklog (source_type, source_id)
    SELECT '{source_type}', e.id FROM new_events AS e WHERE {posts}
    ON CONFLICT (source_type, source_id) DO NOTHING;
    RETURN NULL;
END $$;
CREATE TRIGGER accounting_backlog_inserted AFTER INSERT ON {table} REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION accounting_backlog_{table}();
""" for source_type, table, posts in EVENTS)  # noqa: S608 (this module's constants)

FORWARD = f"""
CREATE TABLE accounting_postingbacklog (
    source_type varchar(10) NOT NULL,
    source_id bigint NOT NULL,
    wanted boolean,
    version integer,
    PRIMARY KEY (source_type, source_id)
);

CREATE FUNCTION accounting_backlog_trades_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO accounting_postingbacklog (source_type, source_id, wanted, version)
    SELECT 'TRADE', t.id, true, t.version FROM new_trades t WHERE t.status IN {WANTED}
    ON CONFLICT (source_type, source_id) DO UPDATE SET wanted = excluded.wanted, version = excluded.version;
    RETURN NULL;
END $$;
CREATE TRIGGER accounting_backlog_trades_inserted AFTER INSERT ON records_trade
    REFERENCING NEW TABLE AS new_trades FOR EACH STATEMENT EXECUTE FUNCTION accounting_backlog_trades_inserted();

CREATE FUNCTION accounting_backlog_trade_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO accounting_postingbacklog (source_type, source_id, wanted, version)
    VALUES ('TRADE', NEW.id, NEW.status IN {WANTED}, NEW.version)
    ON CONFLICT (source_type, source_id) DO UPDATE SET wanted = excluded.wanted, version = excluded.version;
    RETURN NULL;
END $$;
CREATE TRIGGER accounting_backlog_trade_changed AFTER UPDATE OF status, version ON records_trade FOR EACH ROW
    WHEN (OLD.version IS DISTINCT FROM NEW.version
          OR (OLD.status IN {WANTED}) IS DISTINCT FROM (NEW.status IN {WANTED}))
    EXECUTE FUNCTION accounting_backlog_trade_changed();

{EVENT_TRIGGERS}
CREATE FUNCTION accounting_backlog_states_written() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM accounting_postingbacklog AS b USING new_states AS s
    WHERE b.source_type = s.source_type AND b.source_id = s.source_id
      AND CASE WHEN s.source_type <> 'TRADE' THEN s.entry_id IS NOT NULL
               WHEN b.wanted THEN s.entry_id IS NOT NULL AND s.version = b.version
               ELSE s.entry_id IS NULL END;
    INSERT INTO accounting_postingbacklog (source_type, source_id, wanted, version)
    SELECT s.source_type, s.source_id, t.status IN {WANTED}, t.version
    FROM new_states AS s LEFT JOIN records_trade AS t ON s.source_type = 'TRADE' AND t.id = s.source_id
    WHERE s.entry_id IS NULL AND (s.source_type <> 'TRADE' OR t.status IN {WANTED})
    ON CONFLICT (source_type, source_id) DO NOTHING;
    RETURN NULL;
END $$;
CREATE TRIGGER accounting_backlog_states_inserted AFTER INSERT ON accounting_postingstate
    REFERENCING NEW TABLE AS new_states FOR EACH STATEMENT EXECUTE FUNCTION accounting_backlog_states_written();
CREATE TRIGGER accounting_backlog_states_updated AFTER UPDATE ON accounting_postingstate
    REFERENCING NEW TABLE AS new_states FOR EACH STATEMENT EXECUTE FUNCTION accounting_backlog_states_written();

CREATE FUNCTION accounting_backlog_entries_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM accounting_postingbacklog AS b USING new_entries AS e
    WHERE b.source_type = e.source_type AND b.source_id = e.source_id AND e.source_version = 0
      AND e.source_type IN ('NETTING', 'SETTLEMENT', 'CASH', 'PENALTY');
    RETURN NULL;
END $$;
CREATE TRIGGER accounting_backlog_entries_inserted AFTER INSERT ON accounting_journalentry
    REFERENCING NEW TABLE AS new_entries FOR EACH STATEMENT EXECUTE FUNCTION accounting_backlog_entries_inserted();

-- What waits now, as the engine finds it.
INSERT INTO accounting_postingbacklog (source_type, source_id, wanted, version)
SELECT 'TRADE', t.id, t.status IN {WANTED}, t.version FROM records_trade AS t
LEFT JOIN accounting_postingstate AS s ON s.source_type = 'TRADE' AND s.source_id = t.id
WHERE CASE WHEN t.status IN {WANTED} THEN s.entry_id IS NULL OR s.version <> t.version
           ELSE s.entry_id IS NOT NULL END;
INSERT INTO accounting_postingbacklog (source_type, source_id)
SELECT 'STOCK', m.id FROM records_stockmovement AS m
LEFT JOIN accounting_postingstate AS s ON s.source_type = 'STOCK' AND s.source_id = m.id WHERE s.entry_id IS NULL;
INSERT INTO accounting_postingbacklog (source_type, source_id)
SELECT 'NETTING', o.id FROM clearing_obligation AS o WHERE NOT EXISTS (
    SELECT 1 FROM accounting_journalentry AS e WHERE e.source_type = 'NETTING' AND e.source_id = o.id
    AND e.source_version = 0);
INSERT INTO accounting_postingbacklog (source_type, source_id)
SELECT 'SETTLEMENT', m.id FROM settlements_settlementmovement AS m WHERE m.cash <> 0 AND NOT EXISTS (
    SELECT 1 FROM accounting_journalentry AS e WHERE e.source_type = 'SETTLEMENT' AND e.source_id = m.id
    AND e.source_version = 0);
INSERT INTO accounting_postingbacklog (source_type, source_id)
SELECT 'CASH', c.id FROM records_cashmovement AS c WHERE c.kind <> 'SETTLEMENT' AND NOT EXISTS (
    SELECT 1 FROM accounting_journalentry AS e WHERE e.source_type = 'CASH' AND e.source_id = c.id
    AND e.source_version = 0);
INSERT INTO accounting_postingbacklog (source_type, source_id)
SELECT 'PENALTY', p.id FROM settlements_failpenalty AS p WHERE p.amount <> 0 AND NOT EXISTS (
    SELECT 1 FROM accounting_journalentry AS e WHERE e.source_type = 'PENALTY' AND e.source_id = p.id
    AND e.source_version = 0);
ANALYZE accounting_postingbacklog;
"""  # noqa: S608 (this module's constants)

BACKWARD = "".join(f"""
DROP TRIGGER accounting_backlog_inserted ON {table};
DROP FUNCTION accounting_backlog_{table}();""" for _, table, _ in EVENTS) + """
DROP TRIGGER accounting_backlog_entries_inserted ON accounting_journalentry;
DROP TRIGGER accounting_backlog_states_updated ON accounting_postingstate;
DROP TRIGGER accounting_backlog_states_inserted ON accounting_postingstate;
DROP TRIGGER accounting_backlog_trade_changed ON records_trade;
DROP TRIGGER accounting_backlog_trades_inserted ON records_trade;
DROP FUNCTION accounting_backlog_entries_inserted();
DROP FUNCTION accounting_backlog_states_written();
DROP FUNCTION accounting_backlog_trade_changed();
DROP FUNCTION accounting_backlog_trades_inserted();
DROP TABLE accounting_postingbacklog;
"""


class Migration(migrations.Migration):

    dependencies = [
        ('accounting', '0007_day_totals_rule'),
        ('clearing', '0002_match_tolerances'),
        ('records', '0016_audit_type_and_purge_indexes'),
        ('settlements', '0002_penalty_rates'),
    ]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
