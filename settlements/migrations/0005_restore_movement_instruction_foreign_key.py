"""The movements' key to their instruction back to an ordinary constraint (set-based in 0003).

A set-based key puts a parent trigger on the instructions, AFTER UPDATE with the statement's old and new rows:
every UPDATE of instructions (each settlement chunk's) then keeps both sets of rows for it, spilling to disk at
a chunk's size; the instruction writes of a 300,000-trade settlement went from 13.7 s to 19.6 s, more than the
per-row checks it saved. The movements' other keys (run, account, instrument) stay set-based: their parents
are rarely updated.
"""

from django.db import migrations

from backoffice.core.setfk import RestoreForeignKey


class Migration(migrations.Migration):

    dependencies = [
        ("settlements", "0004_restore_instruction_foreign_keys"),
    ]

    operations = [
        RestoreForeignKey("settlementmovement", "instruction"),
    ]
