"""The ledger's set-based foreign keys (accounting migration 0009, backoffice/core/setfk.py): the references hold as
a FOREIGN KEY held them, checked once per statement."""

import importlib
from datetime import date
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import IntegrityError, connection, transaction
from django.db.models.deletion import ProtectedError

from accounting.models import CostLot, GLAccount, JournalEntry, JournalLine, LotMovement, PostingState
from backoffice.core.setfk import SetForeignKey, trigger_names
from tests.accounting.factories import post_entry

pytestmark = pytest.mark.django_db

DAY = date(2026, 11, 16)
SET_KEYS = [(operation.model_name, operation.name)
            for operation in importlib.import_module("accounting.migrations.0009_set_foreign_keys").Migration.operations
            if isinstance(operation, SetForeignKey)]


def _run(sql, params=None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_every_key_of_the_ledger_without_a_constraint_is_a_set_key_with_its_triggers_and_no_constraint():
    models = apps.get_app_config("accounting").get_models()
    unconstrained = sorted((model._meta.model_name, field.name) for model in models
                           for field in model._meta.concrete_fields if field.is_relation and not field.db_constraint)
    assert unconstrained == sorted(SET_KEYS)
    assert len(SET_KEYS) == 17
    with connection.cursor() as cursor:
        for model_name, field_name in SET_KEYS:
            field = apps.get_model("accounting", model_name)._meta.get_field(field_name)
            child, parent = field.model._meta.db_table, field.related_model._meta.db_table
            names = trigger_names(child, field.column)
            cursor.execute("SELECT tgrelid::regclass::text, tgname FROM pg_trigger WHERE tgname = ANY(%s) ORDER BY 2",
                           [[names["child"] + "_ins", names["child"] + "_upd", names["parent"] + "_del",
                             names["parent"] + "_upd", names["truncate"]]])
            assert cursor.fetchall() == [(child, names["child"] + "_ins"), (child, names["child"] + "_upd"),
                                         (parent, names["parent"] + "_del"), (parent, names["parent"] + "_upd"),
                                         (parent, names["truncate"])]
            cursor.execute("SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND conrelid = %s::regclass "
                           "AND conkey = ARRAY[(SELECT attnum FROM pg_attribute WHERE attrelid = %s::regclass "
                           "AND attname = %s)]", [child, child, field.column])
            assert cursor.fetchone()[0] == 0, f"{child}.{field.column} still has a FOREIGN KEY constraint"


def test_a_line_naming_a_missing_gl_account_is_refused_and_nothing_is_written():
    entry = post_entry(lines=[("CASH", "1"), ("ACCOUNT_FUNDS", "-1")], entry_date=DAY)
    cash = GLAccount.objects.get(role="CASH")
    with pytest.raises(IntegrityError, match=r"key \(gl_account_id\)=\(987654\) is not present in table "
                                             r"\"accounting_glaccount\""), transaction.atomic():
        _run("INSERT INTO accounting_journalline (entry_id, gl_account_id, currency, amount, base_amount, fx_rate, "
             "quantity, entry_date) VALUES (%s, %s, 'USD', 5, 5, 1, 0, %s), (%s, 987654, 'USD', -5, -5, 1, 0, %s)",
             [entry.pk, cash.pk, DAY, entry.pk, DAY])
    assert entry.lines.count() == 2


def test_lines_of_a_missing_entry_are_refused():
    cash, funds = GLAccount.objects.get(role="CASH"), GLAccount.objects.get(role="ACCOUNT_FUNDS")
    with pytest.raises(IntegrityError, match=r"key \(entry_id\)=\(987654\) is not present"), transaction.atomic():
        _run("INSERT INTO accounting_journalline (entry_id, gl_account_id, currency, amount, base_amount, fx_rate, "
             "quantity, entry_date) VALUES (987654, %s, 'USD', 5, 5, 1, 0, %s), (987654, %s, 'USD', -5, -5, 1, 0, %s)",
             [cash.pk, DAY, funds.pk, DAY])
    assert JournalLine.objects.count() == 0


def test_an_entry_of_a_missing_trading_account_is_refused_through_the_posting_writer():
    with pytest.raises(IntegrityError, match=r"key \(account_id\)=\(987654\) is not present in table "
                                             r"\"records_account\""):
        post_entry(lines=[("CASH", "1"), ("ACCOUNT_FUNDS", "-1")], entry_date=DAY, account=987654)
    assert JournalEntry.objects.count() == 0 and JournalLine.objects.count() == 0


def test_a_gl_account_with_lines_cannot_be_deleted_by_sql_nor_by_the_orm(accounts):
    post_entry(lines=[("CASH", "1"), ("ACCOUNT_FUNDS", "-1")], entry_date=DAY)
    cash = GLAccount.objects.get(role="CASH")
    with pytest.raises(IntegrityError, match=r"key \(id\)=\(\d+\) is still referenced from table "
                                             r"\"accounting_journalline\""), transaction.atomic():
        _run("DELETE FROM accounting_glaccount WHERE id = %s", [cash.pk])
    with pytest.raises(ProtectedError), transaction.atomic():
        cash.delete()
    assert GLAccount.objects.filter(pk=cash.pk).exists()


def test_a_trading_account_and_instrument_with_lots_cannot_be_deleted(accounts, instruments):
    account, instrument = accounts["ACC-001"], instruments["AAPL"]
    entry = post_entry(lines=[("INVESTMENTS", "100", "10"), ("PAYABLE_PURCHASES", "-100")], entry_date=DAY,
                       account=account, instrument=instrument, source_type="TRADE")
    lot = CostLot.objects.create(account=account, instrument=instrument, currency="USD", opened_on=DAY,
                                 opened_by=entry, quantity=Decimal(10), cost=Decimal(100))
    LotMovement.objects.create(lot=lot, entry=entry, quantity=Decimal(10), cost=Decimal(100))
    PostingState.objects.create(source_type="TRADE", source_id=entry.source_id, account=account,
                                instrument=instrument, version=1, entry=entry)
    for table, key in (("records_account", account.pk), ("records_instrument", instrument.pk)):
        with pytest.raises(IntegrityError, match="is still referenced"), transaction.atomic():
            _run(f"DELETE FROM {table} WHERE id = %s", [key])  # noqa: S608
    with pytest.raises(IntegrityError, match=r"\(lot_id\)=\(987654\) is not present"), transaction.atomic():
        LotMovement.objects.create(lot_id=987654, entry=entry, quantity=Decimal(1), cost=Decimal(1))
    with pytest.raises(IntegrityError, match=r"\(instrument_id\)=\(987654\) is not present"), transaction.atomic():
        CostLot.objects.filter(pk=lot.pk).update(instrument_id=987654)
    lot.refresh_from_db()
    assert lot.instrument_id == instrument.pk and LotMovement.objects.count() == 1


def test_moving_the_posting_state_to_a_missing_entry_is_refused(accounts, instruments):
    account, instrument = accounts["ACC-001"], instruments["AAPL"]
    entry = post_entry(lines=[("CASH", "1"), ("ACCOUNT_FUNDS", "-1")], entry_date=DAY)
    state = PostingState.objects.create(source_type="TRADE", source_id=1, account=account, instrument=instrument,
                                        version=1, entry=entry)
    with pytest.raises(IntegrityError, match=r"\(entry_id\)=\(987654\) is not present"), transaction.atomic():
        PostingState.objects.filter(pk=state.pk).update(entry_id=987654)
    PostingState.objects.filter(pk=state.pk).update(entry=None)  # a reversed state: NULL passes
    state.refresh_from_db()
    assert state.entry_id is None
