"""Set-based reads and writes for batch paths, with as few round trips as the batch allows.

Writes: id allocation and multi-row inserts without model instances. Large batches go through
COPY (psycopg 3), small ones through one multi-row INSERT. Ids are allocated up front, so rows of
dependent tables (events, audit records) can be written in the same pass. Call inside a
transaction.

Reads: `select_all` runs several SELECTs in one round trip and `RowLoader` builds model
instances from their rows the way the ORM would, for hot paths where compiling querysets costs
more than running them. `pipelined` sends a run of small writes without waiting for each.
"""

import contextlib
import datetime
import functools
from collections.abc import Iterator, Sequence

from django.db import connection, models

COPY_THRESHOLD = 50
# Rows per multi-row INSERT: PostgreSQL binds at most 65,535 parameters a statement.
_MAX_PARAMETERS = 65535


def allocate_ids(model: type[models.Model], count: int) -> list[int]:
    """Reserve `count` primary keys for rows about to be inserted with explicit ids."""
    if count == 0:
        return []
    with connection.cursor() as cursor:
        cursor.execute(*sequence_sql(model, count))
        return [row[0] for row in cursor.fetchall()]


def batch_value(value):
    """A date or datetime that a batch writes into many rows, as the rows should carry it: its ISO text.

    PostgreSQL reads the text for date and timestamptz columns in COPY and as a parameter alike:
    psycopg formats a datetime in about a microsecond each time, and a batch of 1,000 trades repeats
    one `now` in some 3,600 rows.
    """
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.isoformat(timespec="microseconds")
    return value.isoformat()


def sequence_sql(model: type[models.Model], count: int) -> tuple[str, list]:
    """The SELECT reserving `count` primary keys (what allocate_ids runs), for select_all."""
    return ("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [model._meta.db_table, model._meta.pk.column, count])


def select_all(queries: Sequence[tuple[str, Sequence]]) -> list[list[tuple]]:
    """Run SELECTs and return the rows of each, all of them in one round trip.

    With psycopg's client-side binding (Django's default) the statements go as one simple-protocol
    message and the results come back in order (cursor.nextset); with server-side binding they
    are pipelined, each on its own cursor.
    """
    if len(queries) == 1:
        with connection.cursor() as cursor:
            results = []
            for sql, params in queries:
                cursor.execute(sql, params)
                results.append(cursor.fetchall())
            return results
    import psycopg

    connection.ensure_connection()
    if not issubclass(connection.connection.cursor_factory, psycopg.ClientCursor):
        with pipelined():
            cursors = [connection.cursor() for _ in queries]
            for cursor, (sql, params) in zip(cursors, queries, strict=True):
                cursor.execute(sql, params)
            results = [cursor.fetchall() for cursor in cursors]
        for cursor in cursors:
            cursor.close()
        return results
    results = []
    with connection.cursor() as cursor:
        cursor.execute("; ".join(sql for sql, _ in queries), [p for _, params in queries for p in params])
        while True:
            results.append(cursor.fetchall())
            if not cursor.nextset():
                break
    if len(results) != len(queries):
        raise AssertionError(f"{len(queries)} queries gave {len(results)} results")
    return results


def in_list(column: str, values: Sequence) -> tuple[str, list]:
    """`column` IN values as SQL and parameters: one text-array parameter.

    Behind a sub-select: planning a 1,000-constant IN list costs ten times more than
    running it, and `= ANY(%s)` on a bare array parameter plans the same way.
    """
    return f"{column} = ANY(ARRAY(SELECT unnest(%s::text[])))", [list(values)]


class RowLoader:
    """Build instances of a model from raw rows of its concrete fields, as the ORM would.

    `columns(alias)` lists the fields' columns in order; `load(row, offset)` applies the
    backend's and the fields' value converters and returns a saved-state instance.
    """

    def __init__(self, model: type[models.Model], fields: Sequence[str] | None = None):
        self.model = model
        concrete = model._meta.concrete_fields
        self.fields = [f for f in concrete if fields is None or f.attname in fields or f.name in fields]
        self.attnames = [f.attname for f in self.fields]
        self.width = len(self.fields)

    def columns(self, alias: str) -> str:
        return self._columns(alias)

    @functools.cache  # noqa: B019 - loaders are module-level singletons
    def _columns(self, alias: str) -> str:
        q = connection.ops.quote_name
        return ", ".join(f"{alias}.{q(f.column)}" for f in self.fields)

    def load(self, row: Sequence, offset: int = 0) -> models.Model:
        values = list(row[offset:offset + self.width])
        for position, col, converter in self._converters():
            values[position] = converter(values[position], col, connection)
        return self.model.from_db(connection.alias, self.attnames, values)

    @functools.cache  # noqa: B019 - loaders are module-level singletons
    def _converters(self) -> list:
        found = []
        for position, f in enumerate(self.fields):
            col = f.get_col(self.model._meta.db_table)
            for converter in connection.ops.get_db_converters(col) + col.get_db_converters(connection):
                found.append((position, col, converter))
        return found


@contextlib.contextmanager
def pipelined(enabled: bool = True) -> Iterator[None]:
    """Send the statements run inside without waiting for each one's answer (psycopg pipeline mode).

    For a run of small writes on PostgreSQL: one network round trip where each statement cost
    one; a statement whose rows are fetched waits for everything before it. Errors surface at
    the next fetch or at the end of the block, as Django's exceptions. insert_rows takes the
    INSERT path inside (COPY cannot be pipelined). With enabled=False, a no-op.
    """
    if not enabled:
        yield
        return
    connection.ensure_connection()
    with connection.wrap_database_errors, connection.connection.pipeline():
        outer = getattr(connection, "bulk_pipelined", False)
        connection.bulk_pipelined = True  # the wrapper is per thread, like the connection
        try:
            yield
        finally:
            connection.bulk_pipelined = outer


def insert_rows(model: type[models.Model], columns: Sequence[str], rows: Sequence[Sequence]) -> int:
    """Insert rows (tuples in `columns` order, database-ready values) into the model's table."""
    if not rows:
        return 0
    table = model._meta.db_table
    quoted = _quoted_columns(tuple(columns))
    with connection.cursor() as cursor:
        copy_allowed = not getattr(connection, "bulk_pipelined", False)
        if len(rows) >= COPY_THRESHOLD and copy_allowed:
            with cursor.cursor.copy(f"COPY {connection.ops.quote_name(table)} ({quoted}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return len(rows)
        per_statement = max(1, min(1000, _MAX_PARAMETERS // len(columns)))
        for start in range(0, len(rows), per_statement):
            chunk = rows[start:start + per_statement]
            cursor.execute(_insert_sql(model, columns, len(chunk)), [v for row in chunk for v in row])
    return len(rows)


def insert_many(tables: Sequence[tuple[type[models.Model], Sequence[str], Sequence[Sequence]]]) -> None:
    """insert_rows for several tables: small batches go as one statement.

    One INSERT per table, all but the last as data-modifying CTEs of the last: one statement to
    send, bind and run instead of one per table. The inserts see the same snapshot, so a row may
    reference a row of another table of the same statement only through a deferred foreign key
    (Django's are). Batches of COPY_THRESHOLD rows or more take insert_rows per table (COPY).
    """
    tables = [(model, columns, rows) for model, columns, rows in tables if rows]
    small = all(len(rows) < COPY_THRESHOLD for _, _, rows in tables)
    if len(tables) < 2 or not small:
        for model, columns, rows in tables:
            insert_rows(model, columns, rows)
        return
    parts, params = [], []
    for model, columns, rows in tables:
        parts.append(_insert_sql(model, columns, len(rows)))
        params += [v for row in rows for v in row]
    *ctes, last = parts
    sql = "WITH " + ", ".join(f"w{n} AS ({part})" for n, part in enumerate(ctes)) + " " + last
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _insert_sql(model: type[models.Model], columns: Sequence[str], row_count: int) -> str:
    placeholder = "(" + ", ".join(["%s"] * len(columns)) + ")"
    return (f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} "  # noqa: S608 - names from model meta
            f"({_quoted_columns(tuple(columns))}) VALUES {', '.join([placeholder] * row_count)}")


@functools.lru_cache(maxsize=256)
def _quoted_columns(columns: tuple[str, ...]) -> str:
    return ", ".join(connection.ops.quote_name(c) for c in columns)
