"""Set-based foreign keys (backoffice.core.setfk) for what clearing runs and settlement runs insert in bulk.

A clearing run's step instruct inserts an instruction per obligation (obligation or trade, account,
counterparty, instrument, SSI); a settlement chunk a movement per instruction it moves (instruction, run,
account, instrument). PostgreSQL's deferred keys checked each row at commit (bench/README.md, "Settlement": 31 s
of the 373 s of a million trades, with the other tables' keys); the statement-level triggers check the
distinct keys of each statement once. Parents are locked FOR KEY SHARE as before.
"""

from django.db import migrations

from backoffice.core.setfk import SetForeignKey


class Migration(migrations.Migration):

    dependencies = [
        ("clearing", "0004_set_foreign_keys"),
        ("settlements", "0002_penalty_rates"),
    ]

    operations = [
        SetForeignKey("settlementinstruction", "obligation"),
        SetForeignKey("settlementinstruction", "trade"),
        SetForeignKey("settlementinstruction", "account"),
        SetForeignKey("settlementinstruction", "counterparty"),
        SetForeignKey("settlementinstruction", "instrument"),
        SetForeignKey("settlementinstruction", "ssi"),
        SetForeignKey("settlementmovement", "instruction"),
        SetForeignKey("settlementmovement", "run"),
        SetForeignKey("settlementmovement", "account"),
        SetForeignKey("settlementmovement", "instrument"),
    ]
