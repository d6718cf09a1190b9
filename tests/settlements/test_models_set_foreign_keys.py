"""The high-volume foreign keys of clearing and settlements are set-based (backoffice.core.setfk): checked once per
statement by triggers, not per row at commit; a reference to nothing is still refused."""

import pytest
from django.db import IntegrityError, connection, transaction

from backoffice.core.setfk import trigger_names
from clearing.models import NettedTrade, Obligation
from settlements.models import SettlementInstruction, SettlementMovement

pytestmark = pytest.mark.django_db

SET_BASED = {
    Obligation: ("run", "account", "counterparty", "instrument"),
    NettedTrade: ("trade", "obligation"),
    SettlementInstruction: ("obligation", "trade", "account", "counterparty", "instrument", "ssi"),
    SettlementMovement: ("instruction", "run", "account", "instrument"),
}


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


def test_a_movement_of_an_instruction_that_does_not_exist_is_refused():
    with connection.cursor() as cursor, pytest.raises(IntegrityError), transaction.atomic():
        cursor.execute("INSERT INTO settlements_settlementmovement (instruction_id, run_id, account_id, instrument_id, "
                       "currency, quantity, cash, value_date, settled_at) "
                       "VALUES (%s, %s, %s, %s, 'USD', 1, 1, now(), now())", [2**62, 2**62, 2**62, 2**62])
