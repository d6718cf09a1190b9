"""Set-based foreign keys (backoffice.core.setfk) for what netting inserts by the tens of thousands a chunk.

A netting chunk of 50,000 trades inserts 50,000 links (trade, obligation) and the obligations (run, account,
counterparty, instrument): PostgreSQL's deferred keys checked each row at commit, one trigger call and one
index probe per key (bench/README.md, "Netting": 37 s of the 137 s of a million trades). The statement-level
triggers check the distinct keys of each statement once. Parents are locked FOR KEY SHARE as before.
"""

from django.db import migrations

from backoffice.core.setfk import SetForeignKey


class Migration(migrations.Migration):

    dependencies = [
        ("clearing", "0003_obligation_fillfactor"),
    ]

    operations = [
        SetForeignKey("obligation", "run"),
        SetForeignKey("obligation", "account"),
        SetForeignKey("obligation", "counterparty"),
        SetForeignKey("obligation", "instrument"),
        SetForeignKey("nettedtrade", "trade"),
        SetForeignKey("nettedtrade", "obligation"),
    ]
