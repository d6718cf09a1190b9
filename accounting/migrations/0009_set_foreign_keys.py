"""The ledger's high-volume foreign keys become set-based (backoffice/core/setfk.py): checked once per statement
over its rows instead of once per row at commit.

A posting run writes some six lines per trade, each with four keys (entry, GL account, trading account,
instrument), and an entry with five: PostgreSQL's per-row checks took 130 of the 325 s a million trades took to
post (bench/README.md, "Posting"). The references hold as before: a child naming a missing parent is refused
(SQLSTATE 23503) and a referenced parent cannot be deleted or re-keyed. The keys to journal entries skip the
FOR KEY SHARE lock on the entry: posted entries are never deleted nor updated (migration 0002 refuses it), so no
transaction can take one away under a check. Every writer inserts parents before children (accounting/posting/
writer.py: entries, then lines; trades.py: then lots, lot movements, posting state), as an immediate check needs.
"""

from django.db import migrations

from backoffice.core.setfk import SetForeignKey


class Migration(migrations.Migration):
    dependencies = [("accounting", "0008_posting_backlog")]

    operations = [
        SetForeignKey("journalentry", "account"),
        SetForeignKey("journalentry", "instrument"),
        SetForeignKey("journalentry", "job"),
        SetForeignKey("journalentry", "posted_by"),
        SetForeignKey("journalentry", "reversal_of", lock_parent=False),
        SetForeignKey("journalline", "entry", lock_parent=False),
        SetForeignKey("journalline", "gl_account"),
        SetForeignKey("journalline", "account"),
        SetForeignKey("journalline", "instrument"),
        SetForeignKey("postingstate", "account"),
        SetForeignKey("postingstate", "instrument"),
        SetForeignKey("postingstate", "entry", lock_parent=False),
        SetForeignKey("costlot", "account"),
        SetForeignKey("costlot", "instrument"),
        SetForeignKey("costlot", "opened_by", lock_parent=False),
        SetForeignKey("lotmovement", "lot"),
        SetForeignKey("lotmovement", "entry", lock_parent=False),
    ]
