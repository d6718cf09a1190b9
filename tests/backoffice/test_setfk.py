"""Set-based foreign keys (backoffice/core/setfk.py): statement-level triggers hold a reference as a FOREIGN KEY does.

Most tests work on two scratch tables, setfk_parent and setfk_child, created inside the test's transaction
(rolled back with it); the migration operation's tests create theirs through migration operations.
"""

import io
import threading

import psycopg
import pytest
from django.db import IntegrityError, connection, migrations, models, transaction
from django.db.migrations.state import ProjectState
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backoffice.core.setfk import RestoreForeignKey, SetForeignKey, create_sql, trigger_names

pytestmark = pytest.mark.django_db


def _make_tables(cursor, *, parent="setfk_parent", child="setfk_child", real_fk=False, lock_parent=True):
    reference = f" REFERENCES {parent} (id) DEFERRABLE INITIALLY DEFERRED" if real_fk else ""
    cursor.execute(f"CREATE TABLE {parent} (id bigint PRIMARY KEY, name text NOT NULL DEFAULT '')")
    cursor.execute(f"CREATE TABLE {child} (id bigserial PRIMARY KEY, parent_id bigint{reference}, note text)")
    cursor.execute(f"CREATE INDEX {child}_parent ON {child} (parent_id)")
    if not real_fk:
        cursor.execute(create_sql(child_table=child, column="parent_id", child_pk="id", parent_table=parent,
                                  parent_key="id", lock_parent=lock_parent))


@pytest.fixture(params=[True, False], ids=["locking", "not-locking"])
def tables(request):
    with connection.cursor() as cursor:
        _make_tables(cursor, lock_parent=request.param)
        cursor.execute("INSERT INTO setfk_parent (id) VALUES (1), (2), (3)")
        cursor.execute("INSERT INTO setfk_child (parent_id) VALUES (1), (1), (2)")


def _run(sql, params=None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _children():
    with connection.cursor() as cursor:
        cursor.execute("SELECT parent_id FROM setfk_child ORDER BY id")
        return [row[0] for row in cursor.fetchall()]


def _parents():
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM setfk_parent ORDER BY id")
        return [row[0] for row in cursor.fetchall()]


def _refused(sql, params=None, match="violates set foreign key"):
    with pytest.raises(IntegrityError, match=match), transaction.atomic():
        _run(sql, params)


def test_inserting_a_child_of_a_missing_parent_is_refused_naming_table_column_and_key(tables):
    with pytest.raises(IntegrityError) as refused, transaction.atomic():
        _run("INSERT INTO setfk_child (parent_id) VALUES (9)")
    assert 'insert or update on table "setfk_child"' in str(refused.value)
    assert 'key (parent_id)=(9) is not present in table "setfk_parent"' in str(refused.value)
    assert refused.value.__cause__.sqlstate == "23503"
    assert _children() == [1, 1, 2]


def test_a_multi_row_insert_with_one_bad_row_writes_nothing(tables):
    _refused("INSERT INTO setfk_child (parent_id) VALUES (1), (2), (3), (4), (3)", match=r"\(parent_id\)=\(4\)")
    assert _children() == [1, 1, 2]


def test_copy_of_a_child_with_a_missing_parent_is_refused_and_writes_nothing(tables):
    # COPY goes around Django's cursor wrapper: psycopg's own IntegrityError (ForeignKeyViolation, 23503).
    with (pytest.raises(psycopg.errors.ForeignKeyViolation, match=r"\(parent_id\)=\(7\)"), transaction.atomic(),
          connection.cursor() as cursor, cursor.copy("COPY setfk_child (parent_id) FROM STDIN") as copy):
        copy.write("3\n7\n1\n")
    assert _children() == [1, 1, 2]


def test_copy_of_good_children_passes(tables):
    with connection.cursor() as cursor, cursor.copy("COPY setfk_child (parent_id) FROM STDIN") as copy:
        copy.write(io.StringIO("3\n\\N\n1\n").read())
    assert _children() == [1, 1, 2, 3, None, 1]


def test_null_keys_pass(tables):
    _run("INSERT INTO setfk_child (parent_id) VALUES (NULL), (NULL)")
    _run("UPDATE setfk_child SET parent_id = NULL WHERE parent_id = 2")
    assert _children() == [1, 1, None, None, None]


def test_updating_a_child_to_a_missing_parent_is_refused_and_changes_nothing(tables):
    _refused("UPDATE setfk_child SET parent_id = parent_id + 2", match=r"\(parent_id\)=\(4\)")  # 3, 3, 4
    assert _children() == [1, 1, 2]


def test_updating_a_child_to_an_existing_parent_passes_and_other_columns_are_not_checked(tables):
    _run("UPDATE setfk_child SET parent_id = 3 WHERE parent_id = 2")
    _run("DELETE FROM setfk_parent WHERE id = 2")
    assert _children() == [1, 1, 3]


def test_deleting_a_referenced_parent_is_refused_and_deletes_nothing(tables):
    with pytest.raises(IntegrityError) as refused, transaction.atomic():
        _run("DELETE FROM setfk_parent WHERE id IN (2, 3)")
    assert 'update or delete on table "setfk_parent"' in str(refused.value)
    assert 'key (id)=(2) is still referenced from table "setfk_child"' in str(refused.value)
    assert _parents() == [1, 2, 3]


def test_re_keying_a_referenced_parent_is_refused(tables):
    _refused("UPDATE setfk_parent SET id = 10 WHERE id = 1", match=r"key \(id\)=\(1\) is still referenced")
    assert _parents() == [1, 2, 3]


def test_updating_a_parent_without_changing_referenced_keys_passes(tables):
    _run("UPDATE setfk_parent SET name = 'renamed'")
    _run("UPDATE setfk_parent SET id = 30 WHERE id = 3")  # unreferenced
    assert _parents() == [1, 2, 30]


def test_deleting_an_unreferenced_parent_works(tables):
    _run("DELETE FROM setfk_parent WHERE id = 3")
    assert _parents() == [1, 2]


def test_deleting_children_then_their_parent_in_one_transaction_works(tables):
    with transaction.atomic():
        _run("DELETE FROM setfk_child WHERE parent_id = 1")
        _run("DELETE FROM setfk_parent WHERE id = 1")
    assert _parents() == [2, 3]
    assert _children() == [2]


def test_a_child_inserted_before_its_parent_in_one_transaction_is_refused_no_deferral(tables):
    with pytest.raises(IntegrityError), transaction.atomic():
        _run("INSERT INTO setfk_child (parent_id) VALUES (5)")
        _run("INSERT INTO setfk_parent (id) VALUES (5)")
    assert _parents() == [1, 2, 3]


def test_truncating_the_parent_alone_is_refused_but_parent_and_child_together_pass(tables):
    _refused("TRUNCATE setfk_parent", match="cannot truncate table \"setfk_parent\"")
    assert _parents() == [1, 2, 3]
    _run("TRUNCATE setfk_parent, setfk_child")
    assert _parents() == [] and _children() == []


def test_trigger_names_fit_postgresql_identifiers():
    names = trigger_names("a_very_long_application_label_table_name_of_some_model", "a_long_column_name_id")
    assert all(len(name) + 4 <= 63 for name in names.values())
    assert len(set(names.values())) == 3


def _project_state():
    state = ProjectState()
    operations = [
        migrations.CreateModel("Parent", [("id", models.BigAutoField(primary_key=True))]),
        migrations.CreateModel("Child", [
            ("id", models.BigAutoField(primary_key=True)),
            ("parent", models.ForeignKey("setfktest.Parent", models.PROTECT, null=True)),
        ]),
    ]
    for operation in operations:
        new_state = state.clone()
        operation.state_forwards("setfktest", new_state)
        with connection.schema_editor() as editor:
            operation.database_forwards("setfktest", editor, state, new_state)
        state = new_state
    return state


def _constraints_and_triggers():
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_constraint WHERE conrelid = 'setfktest_child'::regclass "
                       "AND contype = 'f'")
        fks = cursor.fetchone()[0]
        cursor.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgname LIKE 'setfk_%%' "
                       "AND tgrelid IN ('setfktest_child'::regclass, 'setfktest_parent'::regclass) ORDER BY 1")
        return fks, [row[0] for row in cursor.fetchall()]


def test_the_migration_operation_swaps_the_constraint_for_triggers_and_its_reverse_restores_it():
    state = _project_state()
    assert _constraints_and_triggers() == (1, [])
    operation = SetForeignKey("child", "parent")
    new_state = state.clone()
    operation.state_forwards("setfktest", new_state)
    assert new_state.models["setfktest", "child"].fields["parent"].db_constraint is False
    with connection.schema_editor() as editor:
        operation.database_forwards("setfktest", editor, state, new_state)
    assert _constraints_and_triggers() == (0, ["setfk_setfktest_child_parent_id_child_ins",
                                               "setfk_setfktest_child_parent_id_child_upd",
                                               "setfk_setfktest_child_parent_id_parent_del",
                                               "setfk_setfktest_child_parent_id_parent_upd",
                                               "setfk_setfktest_child_parent_id_truncate"])
    _run("INSERT INTO setfktest_parent (id) VALUES (1)")
    _run("INSERT INTO setfktest_child (parent_id) VALUES (1)")
    with pytest.raises(IntegrityError, match="violates set foreign key"), transaction.atomic():
        _run("INSERT INTO setfktest_child (parent_id) VALUES (2)")

    with connection.schema_editor() as editor:
        operation.database_backwards("setfktest", editor, new_state, state)
    assert _constraints_and_triggers() == (1, [])
    # The real (deferred) constraint is back: checked at commit, here forced by SET CONSTRAINTS.
    with pytest.raises(IntegrityError, match="violates foreign key constraint"), transaction.atomic():
        _run("INSERT INTO setfktest_child (parent_id) VALUES (2)")
        _run("SET CONSTRAINTS ALL IMMEDIATE")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_proc WHERE proname LIKE 'setfk_setfktest%%'")
        assert cursor.fetchone()[0] == 0


def test_restore_foreign_key_is_the_inverse_and_both_deconstruct():
    state = _project_state()
    set_state = state.clone()
    SetForeignKey("child", "parent").state_forwards("setfktest", set_state)
    with connection.schema_editor() as editor:
        SetForeignKey("child", "parent").database_forwards("setfktest", editor, state, set_state)
    restored = set_state.clone()
    RestoreForeignKey("child", "parent").state_forwards("setfktest", restored)
    assert restored.models["setfktest", "child"].fields["parent"].db_constraint is True
    with connection.schema_editor() as editor:
        RestoreForeignKey("child", "parent").database_forwards("setfktest", editor, set_state, restored)
    assert _constraints_and_triggers() == (1, [])
    assert SetForeignKey("child", "parent", lock_parent=False).deconstruct() == (
        "SetForeignKey", [], {"model_name": "child", "name": "parent", "lock_parent": False})
    assert RestoreForeignKey("child", "parent").deconstruct()[0] == "RestoreForeignKey"


# The trigger's verdict against a real FOREIGN KEY's, over random parents, children, moves, re-keyings and deletions:
# children, moves and deletions mostly name existing parents (so later statements have something to refuse).
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), parents=st.sets(st.integers(min_value=1, max_value=8), min_size=1, max_size=6))
def test_the_triggers_agree_with_a_real_foreign_key(tables_pair, data, parents):
    existing = st.sampled_from(sorted(parents))
    any_key = st.integers(min_value=1, max_value=10)
    good_children = data.draw(st.lists(st.one_of(existing, st.none()), max_size=6), "good children")
    more_children = data.draw(st.lists(st.one_of(existing, any_key, st.none()), max_size=3), "more children")
    moved = data.draw(st.tuples(existing, st.one_of(existing, any_key)), "child moved from, to")
    rekeyed = data.draw(st.tuples(existing, st.integers(min_value=11, max_value=12)), "parent re-keyed from, to")
    deleted = data.draw(st.lists(st.one_of(existing, any_key), max_size=3), "parents deleted")
    statements = [
        ("INSERT INTO {parent} (id) SELECT unnest(%s::bigint[])", [sorted(parents)]),
        ("INSERT INTO {child} (parent_id) SELECT unnest(%s::bigint[])", [good_children]),
        ("INSERT INTO {child} (parent_id) SELECT unnest(%s::bigint[])", [more_children]),
        ("UPDATE {child} SET parent_id = %s WHERE parent_id = %s", [moved[1], moved[0]]),
        ("UPDATE {child} SET note = 'touched'", []),
        ("UPDATE {parent} SET id = %s WHERE id = %s", [rekeyed[1], rekeyed[0]]),
        ("DELETE FROM {parent} WHERE id = ANY(%s::bigint[])", [deleted]),
        ("DELETE FROM {parent}", []),
    ]
    outcomes = {}
    for kind, (parent, child) in tables_pair.items():
        verdicts = []
        with transaction.atomic():
            for sql, params in statements:
                try:
                    with transaction.atomic():
                        _run(sql.format(parent=parent, child=child), params or None)
                        _run("SET CONSTRAINTS ALL IMMEDIATE")  # the real key's verdict now, not at commit
                    verdicts.append("ok")
                except IntegrityError:
                    verdicts.append("refused")
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT array_agg(id ORDER BY id) FROM {parent}")  # noqa: S608
                kept_parents = cursor.fetchone()[0]
                cursor.execute(f"SELECT array_agg(parent_id ORDER BY id) FROM {child}")  # noqa: S608
                kept_children = cursor.fetchone()[0]
            transaction.set_rollback(True)
        outcomes[kind] = (verdicts, kept_parents, kept_children)
    assert outcomes["set"] == outcomes["real"]


@pytest.fixture
def tables_pair():
    with connection.cursor() as cursor:
        _make_tables(cursor, parent="setfk_rparent", child="setfk_rchild", real_fk=True)
        _make_tables(cursor, parent="setfk_sparent", child="setfk_schild")
    return {"real": ("setfk_rparent", "setfk_rchild"), "set": ("setfk_sparent", "setfk_schild")}


def _connection_params():
    settings_dict = connection.settings_dict
    return {"dbname": settings_dict["NAME"], "user": settings_dict["USER"], "host": settings_dict["HOST"] or None,
            "port": settings_dict["PORT"] or None, "password": settings_dict["PASSWORD"] or None}


def _in_thread(conn, sql):
    """Run sql on conn in a thread and commit; the outcome says whether it passed or was refused."""
    outcome = {}

    def run():
        try:
            conn.execute(sql)
            conn.commit()
            outcome["passed"] = True
        except psycopg.errors.ForeignKeyViolation:
            conn.rollback()
            outcome["passed"] = False

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


@pytest.fixture
def committed_tables(transactional_db):
    with connection.cursor() as cursor:
        _make_tables(cursor)
        cursor.execute("INSERT INTO setfk_parent (id) VALUES (1)")
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE setfk_child, setfk_parent")
        cursor.execute("DROP FUNCTION setfk_setfk_child_parent_id_child(), setfk_setfk_child_parent_id_parent(), "
                       "setfk_setfk_child_parent_id_truncate()")


def test_a_parent_deleted_while_a_child_insert_is_in_flight_waits_for_it_and_is_refused(committed_tables):
    """The lock a real key takes: the child's check locks its parents FOR KEY SHARE, so a concurrent DELETE of
    the parent waits for the child's transaction, then sees the child and is refused (no orphan)."""
    with psycopg.connect(**_connection_params()) as inserter, psycopg.connect(**_connection_params()) as deleter:
        inserter.execute("INSERT INTO setfk_child (parent_id) VALUES (1)")  # in a transaction, not committed
        thread, outcome = _in_thread(deleter, "DELETE FROM setfk_parent WHERE id = 1")
        thread.join(1.0)
        assert thread.is_alive(), "the DELETE should wait for the child's transaction"
        inserter.commit()
        thread.join(10)
        assert outcome == {"passed": False}
    assert _parents() == [1] and _children() == [1]


def test_a_child_inserted_while_its_parent_is_being_deleted_waits_for_it_and_is_refused(committed_tables):
    """The other order: the child's check waits on the deleting transaction's row lock, then finds no parent."""
    with psycopg.connect(**_connection_params()) as deleter, psycopg.connect(**_connection_params()) as inserter:
        deleter.execute("DELETE FROM setfk_parent WHERE id = 1")  # not committed
        thread, outcome = _in_thread(inserter, "INSERT INTO setfk_child (parent_id) VALUES (1)")
        thread.join(1.0)
        assert thread.is_alive(), "the child's check should wait for the deleting transaction"
        deleter.commit()
        thread.join(10)
        assert outcome == {"passed": False}
    assert _parents() == [] and _children() == []


def test_parents_go_away_in_read_committed_only(committed_tables):
    """Under a transaction snapshot a child committed meanwhile would be invisible to the parent's check."""
    with psycopg.connect(**_connection_params()) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        for statement in ("DELETE FROM setfk_parent WHERE id = 1", "UPDATE setfk_parent SET id = 30 WHERE id = 1"):
            with pytest.raises(psycopg.errors.FeatureNotSupported, match="READ COMMITTED transactions only"):
                conn.execute(statement)
            conn.rollback()
        conn.execute("UPDATE setfk_parent SET name = 'renamed'")  # keys kept
        conn.execute("DELETE FROM setfk_parent WHERE id = 99")  # nothing deleted
        conn.commit()
    assert _parents() == [1]
