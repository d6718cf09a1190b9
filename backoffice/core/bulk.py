"""Set-based writes for batch paths: id allocation and multi-row inserts without model instances.

On PostgreSQL large batches go through COPY (psycopg 3), small ones through one multi-row
INSERT; SQLite always takes the INSERT. Ids are allocated up front, so rows of dependent
tables (events, audit records) can be written in the same pass. Call inside a transaction.
"""

from collections.abc import Sequence

from django.db import connection, models

COPY_THRESHOLD = 50
_MAX_SQLITE_VARIABLES = 32766


def allocate_ids(model: type[models.Model], count: int) -> list[int]:
    """Reserve `count` primary keys for rows about to be inserted with explicit ids."""
    if count == 0:
        return []
    table = model._meta.db_table
    pk = model._meta.pk.column
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                           [table, pk, count])
            return [row[0] for row in cursor.fetchall()]
        # SQLite: the IMMEDIATE transaction holds the database's single write lock, so nobody else
        # can take these ids; explicit ids also advance sqlite_sequence.
        cursor.execute(f'SELECT COALESCE(MAX("{pk}"), 0), '  # noqa: S608 - identifiers from model meta
                       f"(SELECT seq FROM sqlite_sequence WHERE name = %s) FROM \"{table}\"", [table])
        highest, seq = cursor.fetchone()
        start = max(highest or 0, seq or 0) + 1
        return list(range(start, start + count))


def insert_rows(model: type[models.Model], columns: Sequence[str], rows: Sequence[Sequence]) -> int:
    """Insert rows (tuples in `columns` order, database-ready values) into the model's table."""
    if not rows:
        return 0
    table = model._meta.db_table
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and len(rows) >= COPY_THRESHOLD:
            with cursor.cursor.copy(f"COPY {connection.ops.quote_name(table)} ({quoted}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return len(rows)
        placeholder = "(" + ", ".join(["%s"] * len(columns)) + ")"
        per_statement = max(1, min(1000, _MAX_SQLITE_VARIABLES // len(columns)))
        for start in range(0, len(rows), per_statement):
            chunk = rows[start:start + per_statement]
            sql = (f"INSERT INTO {connection.ops.quote_name(table)} ({quoted}) VALUES "  # noqa: S608
                   + ", ".join([placeholder] * len(chunk)))
            cursor.execute(sql, [v for row in chunk for v in row])
    return len(rows)
