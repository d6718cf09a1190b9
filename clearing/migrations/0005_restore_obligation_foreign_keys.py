"""The obligations' foreign keys back to ordinary constraints (set-based in 0004).

A set-based key's child triggers join the statement's old and new rows on every UPDATE of the child; a
settlement chunk updates its obligations with hash and merge joins off (settlement_run_settle reads by key
through nested loops), so that join became a nested loop over both transition tables, quadratic in the rows
(a 100,000-trade settlement did not finish a chunk in eight minutes). Links (clearing_nettedtrade) are
inserted only: they stay set-based.
"""

from django.db import migrations

from backoffice.core.setfk import RestoreForeignKey


class Migration(migrations.Migration):

    dependencies = [
        ("clearing", "0004_set_foreign_keys"),
    ]

    operations = [
        RestoreForeignKey("obligation", "run"),
        RestoreForeignKey("obligation", "account"),
        RestoreForeignKey("obligation", "counterparty"),
        RestoreForeignKey("obligation", "instrument"),
    ]
