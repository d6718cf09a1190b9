"""The high-volume foreign keys of clearing and settlements that are only inserted are set-based
(backoffice.core.setfk): checked once per statement by triggers, not per row at commit; a reference to nothing is
still refused. The tables a settlement chunk updates keep ordinary keys: a set-based key's UPDATE trigger joins the
statement's old and new rows, and the chunk runs with hash and merge joins off (a nested loop over both: quadratic)."""

import pytest
from django.db import IntegrityError, connection, transaction

from backoffice.core.setfk import trigger_names
from clearing.models import NettedTrade, Obligation
from settlements.models import SettlementInstruction, SettlementMovement

pytestmark = pytest.mark.django_db

SET_BASED = {
    NettedTrade: ("trade", "obligation"),
    SettlementMovement: ("run", "account", "instrument"),
}
# Updated by settlement chunks (settlements.runs.services.settlement_run_settle, hash and merge joins off).
UPDATED_BY_SETTLEMENT = (Obligation, SettlementInstruction)


@pytest.mark.parametrize(("model", "name"), [(m, n) for m, names in SET_BASED.items() for n in names])
def test_the_key_is_held_by_statement_triggers_not_a_constraint(model, name):
    field = model._meta.get_field(name)
    table = model._meta.db_table
    assert field.db_constraint is False
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'f' "
                       "AND conkey = ARRAY[(SELECT attnum FROM pg_attribute WHERE attrelid = %s::regclass "
                       "AND attname = %s)]::int2[]", [table, table, field.column])
        assert cursor.fetchone()[0] == 0
        cursor.execute("SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal",
                       [table])
        triggers = {name for (name,) in cursor.fetchall()}
    child = trigger_names(table, field.column)["child"]
    assert {f"{child}_ins", f"{child}_upd"} <= triggers


def test_a_link_to_an_obligation_that_does_not_exist_is_refused():
    with connection.cursor() as cursor, pytest.raises(IntegrityError), transaction.atomic():
        cursor.execute("INSERT INTO clearing_nettedtrade (trade_id, obligation_id) VALUES (%s, %s)",
                       [2**62, 2**62])


def test_a_movement_of_a_run_that_does_not_exist_is_refused():
    with connection.cursor() as cursor, pytest.raises(IntegrityError), transaction.atomic():
        cursor.execute("INSERT INTO settlements_settlementmovement (instruction_id, run_id, account_id, instrument_id, "
                       "currency, quantity, cash, value_date, settled_at) "
                       "VALUES (%s, %s, %s, %s, 'USD', 1, 1, now(), now())", [2**62, 2**62, 2**62, 2**62])
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the instruction's ordinary key, deferred, checked too


@pytest.mark.parametrize("model", UPDATED_BY_SETTLEMENT)
def test_a_table_settlement_updates_has_no_set_based_key_joining_its_old_and_new_rows(model):
    with connection.cursor() as cursor:
        cursor.execute("SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal "
                       "AND tgname LIKE 'setfk%%' AND tgname LIKE '%%_upd' AND tgtype & 16 = 16",
                       [model._meta.db_table])
        updates = [name for (name,) in cursor.fetchall()]
    # A parent's UPDATE trigger (the keys gone: an EXCEPT, no join) is harmless; a child's is not.
    children = {trigger_names(model._meta.db_table, f.column)["child"] + "_upd"
                for f in model._meta.concrete_fields if f.is_relation}
    assert set(updates) & children == set()


def test_the_instructions_carry_no_parent_trigger_of_a_set_based_key():
    """A parent's UPDATE trigger keeps every updated instruction's old and new rows: each settlement chunk's."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT tgname FROM pg_trigger WHERE tgrelid = 'settlements_settlementinstruction'::regclass "
                       "AND NOT tgisinternal AND tgname LIKE 'setfk%%'")
        assert cursor.fetchall() == []
