"""The instructions' foreign keys back to ordinary constraints (set-based in 0003).

A set-based key's child triggers join the statement's old and new rows on every UPDATE of the child; a
settlement chunk updates its instructions with hash and merge joins off (settlement_run_settle reads by key
through nested loops), so that join became a nested loop over both transition tables, quadratic in the rows
(a 100,000-trade settlement did not finish a chunk in eight minutes). Movements are inserted only: they stay
set-based.
"""

from django.db import migrations

from backoffice.core.setfk import RestoreForeignKey


class Migration(migrations.Migration):

    dependencies = [
        ("settlements", "0003_set_foreign_keys"),
        ("clearing", "0005_restore_obligation_foreign_keys"),
    ]

    operations = [
        RestoreForeignKey("settlementinstruction", "obligation"),
        RestoreForeignKey("settlementinstruction", "trade"),
        RestoreForeignKey("settlementinstruction", "account"),
        RestoreForeignKey("settlementinstruction", "counterparty"),
        RestoreForeignKey("settlementinstruction", "instrument"),
        RestoreForeignKey("settlementinstruction", "ssi"),
    ]
