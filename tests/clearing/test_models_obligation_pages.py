"""Obligations' status changes are HOT updates by schema: no index names a column they change, and the pages keep
room for a new version of every row (docs/scaling.md, "Netting and settlement")."""

import re

import pytest
from django.db import connection

from clearing.netting import settlement as obligation_settlement
from settlements.instructions.services import instructions as instruction_services

pytestmark = pytest.mark.django_db

# What instructing and settling change on an obligation; their statements are held to it below.
CHANGING = {"status"}


def _set_columns(sql: str) -> set[str]:
    match = re.search(r"UPDATE clearing_obligation AS o SET (.*?)\s(?:FROM|WHERE)\s", sql, re.S)
    assert match, "no UPDATE of clearing_obligation in the statement"
    return {assignment.split("=")[0].strip() for assignment in match.group(1).split(",")}


def test_instructing_and_settling_change_only_the_obligations_status():
    assert _set_columns(obligation_settlement._UPDATE) == CHANGING
    statements = [value for value in vars(instruction_services).values()
                  if isinstance(value, str) and "UPDATE clearing_obligation" in value]
    assert statements
    for sql in statements:
        assert _set_columns(sql) <= CHANGING


def test_no_index_of_the_obligations_names_their_status():
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT c.relname, pg_get_indexdef(i.indexrelid)
            FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indexrelid
            WHERE i.indrelid = 'clearing_obligation'::regclass
        """)
        definitions = dict(cursor.fetchall())
    assert len(definitions) == 7
    assert {name: d for name, d in definitions.items() if re.search(r"\bstatus\b", d)} == {}


def test_the_obligations_keep_room_in_each_page_for_a_new_version_of_every_row():
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE oid = 'clearing_obligation'::regclass")
        (options,) = cursor.fetchone()
    assert "fillfactor=50" in (options or [])
