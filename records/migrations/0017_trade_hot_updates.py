# Trade status changes as HOT updates (docs/scaling.md, "Netting and settlement: HOT trade updates"): netting
# and settlement change status, settled_quantity and updated_at of a million trades a day. With status in two
# indexes each change wrote a new row version and an entry in all nine indexes; with no index naming a column
# that changes, and free room kept in each page for the new versions, PostgreSQL writes the new version in the
# same page and no index entry at all.
#
# The two indexes with status are replaced by one that serves netting's selection (a settlement date, a range
# of instruments); the blotter and the dashboards find trades in a rare status (held, rejected, cancelled,
# failing) through a partial index of the lifecycle events that moved them there. The fillfactor applies to
# pages written from now on: existing pages keep their rows until a rewrite (VACUUM FULL or pg_repack, an
# operator's choice on a big table). Built and dropped concurrently: the blotter takes inserts all day.

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models

# Room in each page for a new version of every row: netting's chunks each move a share of every page's trades,
# and the page is not pruned between them, so the share of HOT updates followed the room left: measured on
# 100,000 trades in 20 chunks, 100% at fillfactor 50, 42% at 70, 10% at 90 (bench/README.md, "Netting").
# Settlement's change finds the page pruned of netting's old versions. The cost: a day's trades take twice
# the pages as they are booked (46 MB a hundred thousand, not 23).
TRADE_FILLFACTOR = 50


class Migration(migrations.Migration):

    atomic = False

    dependencies = [
        ('records', '0016_audit_type_and_purge_indexes'),
    ]

    operations = [
        AddIndexConcurrently(
            model_name='trade',
            index=models.Index(fields=['settlement_date', 'instrument'], name='trade_settle_date_idx'),
        ),
        RemoveIndexConcurrently(
            model_name='trade',
            name='trade_settlement_idx',
        ),
        RemoveIndexConcurrently(
            model_name='trade',
            name='trade_status_idx',
        ),
        AddIndexConcurrently(
            model_name='tradeevent',
            index=models.Index(condition=models.Q(('to_status__in', ('NEW', 'HELD', 'REJECTED', 'CANCELLED',
                                                                     'PARTIALLY_SETTLED', 'FAILED'))),
                               fields=['to_status', 'trade'], name='tradeevent_rare_status_idx'),
        ),
        migrations.RunSQL(
            f"ALTER TABLE records_trade SET (fillfactor = {TRADE_FILLFACTOR})",
            "ALTER TABLE records_trade RESET (fillfactor)",
        ),
    ]
