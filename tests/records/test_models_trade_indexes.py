"""The blotter's indexes leave netting and settlement's trade updates HOT (docs/scaling.md).

A trade's status changes twice or more in its life (cleared, then settled, partial or failed). PostgreSQL
writes such a change as a heap-only tuple (no index entry at all) only when no index names a column the
UPDATE changes, in its key, its INCLUDE list, an expression or its predicate, and the page has room for the
new version. Whether a given UPDATE was HOT depends on free space and timing; what the schema promises is
held here: the index set and the table's fillfactor.
"""

import re

import pytest
from django.db import connection

from clearing.netting import services as netting_services
from records.trades import settlement as trade_settlement

pytestmark = pytest.mark.django_db

# Columns the end of day changes on a trade. The netting and settlement statements' SET lists are checked
# against this list below, so a new column they write is caught too.
CHANGING = {"status", "match_status", "settled_quantity", "updated_at"}

_SET = re.compile(r"UPDATE records_trade AS t SET (.*?)\s(?:FROM|WHERE)\s", re.S)


def _set_columns(sql: str) -> set[str]:
    match = _SET.search(sql)
    assert match, "no UPDATE of records_trade in the statement"
    return {assignment.split("=")[0].strip() for assignment in match.group(1).split(",")}


def _index_columns() -> dict[str, set[str]]:
    """Every index of records_trade -> the columns it names: key and INCLUDE columns, expressions, predicate."""
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT c.relname, a.attname,
                   pg_get_expr(i.indexprs, i.indrelid), pg_get_expr(i.indpred, i.indrelid)
            FROM pg_index AS i
            JOIN pg_class AS c ON c.oid = i.indexrelid
            LEFT JOIN pg_attribute AS a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) AND a.attnum > 0
            WHERE i.indrelid = 'records_trade'::regclass
        """)
        rows = cursor.fetchall()
        cursor.execute("SELECT attname FROM pg_attribute WHERE attrelid = 'records_trade'::regclass AND attnum > 0 "
                       "AND NOT attisdropped")
        table_columns = {name for (name,) in cursor.fetchall()}
    indexes: dict[str, set[str]] = {}
    for name, column, expressions, predicate in rows:
        named = indexes.setdefault(name, set())
        if column:
            named.add(column)
        for text in (expressions, predicate):
            if text:
                named |= {word for word in re.findall(r"[a-z_]+", text) if word in table_columns}
    return indexes


def test_the_end_of_day_changes_only_the_columns_listed_here():
    assert _set_columns(netting_services._NET_SQL) <= CHANGING
    assert _set_columns(trade_settlement._UPDATE) <= CHANGING


def test_no_index_of_the_blotter_names_a_column_the_end_of_day_changes():
    indexes = _index_columns()
    assert len(indexes) == 8
    assert {name: columns & CHANGING for name, columns in indexes.items() if columns & CHANGING} == {}


def test_netting_selects_a_dates_trades_by_instrument_range_through_an_index():
    assert _index_columns()["trade_settle_date_idx"] == {"settlement_date", "instrument_id"}
    with connection.cursor() as cursor:
        cursor.execute("SELECT indkey::text FROM pg_index WHERE indexrelid = 'trade_settle_date_idx'::regclass")
        (key,) = cursor.fetchone()
        cursor.execute("SELECT attnum FROM pg_attribute WHERE attrelid = 'records_trade'::regclass "
                       "AND attname IN ('settlement_date', 'instrument_id') ORDER BY attname DESC")
        settlement_date, instrument = (n for (n,) in cursor.fetchall())
    assert key == f"{settlement_date} {instrument}"  # the date first: a date's range, then its instruments


def test_the_blotter_keeps_room_in_each_page_for_a_trades_new_versions():
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE oid = 'records_trade'::regclass")
        (options,) = cursor.fetchone()
    assert "fillfactor=50" in (options or [])
