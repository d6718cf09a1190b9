# Indexes for the audit trail's pages on a big trail (docs/scaling.md, dashboards): the trail filtered by
# record type alone, newest first, and the purge tombstones the retention page lists. Built concurrently:
# the trail takes inserts from every write while the index builds.

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):

    atomic = False

    dependencies = [
        ('records', '0015_trade_files'),
    ]

    operations = [
        AddIndexConcurrently(
            model_name='auditrecord',
            index=models.Index(fields=['record_type', 'id'], name='audit_type_idx'),
        ),
        AddIndexConcurrently(
            model_name='auditrecord',
            index=models.Index(condition=models.Q(('action', 'PURGE')), fields=['id'], name='audit_purge_idx'),
        ),
    ]
