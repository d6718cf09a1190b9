"""Room in each page of the obligations for their status changes, so that they are HOT updates.

An obligation changes status twice in its life, each time together with all the obligations of its page:
INSTRUCTED (the clearing run's step instruct, one statement for the run) and SETTLED, PARTIALLY_SETTLED or
FAILED (the settlement run's chunks). No index names status or a column either changes, so with room for a
new version of every row of the page PostgreSQL writes each change in the page and no index entry (six
indexes): fillfactor 50, measured against 70 and 100 in bench/README.md ("Settlement"). The setting applies
to pages written from now on.
"""

from django.db import migrations

OBLIGATION_FILLFACTOR = 50


class Migration(migrations.Migration):

    dependencies = [
        ("clearing", "0002_match_tolerances"),
    ]

    operations = [
        migrations.RunSQL(
            f"ALTER TABLE clearing_obligation SET (fillfactor = {OBLIGATION_FILLFACTOR})",
            "ALTER TABLE clearing_obligation RESET (fillfactor)",
        ),
    ]
