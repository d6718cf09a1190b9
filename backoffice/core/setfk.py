"""Set-based foreign keys: a reference the database enforces once per statement instead of once per row.

PostgreSQL checks a FOREIGN KEY with a row-level trigger: each inserted child row costs a trigger
call and an index probe of the parent, and a lock on the parent row (at commit, when deferred). A
batch writing millions of journal lines with four keys each spends more time there than writing
the lines. A set-based foreign key keeps the Django ForeignKey (ORM, admin, joins, on_delete in
Python) with ``db_constraint=False`` and has the database hold the reference with statement-level
triggers over the statement's transition tables:

- on the child, AFTER INSERT and AFTER UPDATE, FOR EACH STATEMENT: the distinct new keys (for an
  UPDATE, only the rows whose key changed) are looked up in the parent in one join, and the
  parent rows found are locked FOR KEY SHARE, as PostgreSQL's own check locks them: a parent
  being deleted or re-keyed by a transaction in flight is waited for, and a parent that is gone
  fails the check. A missing key raises SQLSTATE 23503 (foreign_key_violation, so Django raises
  IntegrityError) naming the table, the column and the key; NULL passes.
- on the parent, AFTER DELETE and AFTER UPDATE, FOR EACH STATEMENT: the old keys no longer in the
  parent are looked up in the child (one semi-join, through the child's index on the column when
  it has one); a referenced one raises 23503. AFTER TRUNCATE: the child must be empty (of non-null
  keys) once the TRUNCATE is over: truncating both in one statement, as Django's flush does, passes.

What it does not do: it is never deferred (a statement inserting children whose parent a later
statement of the same transaction inserts fails, where a DEFERRABLE INITIALLY DEFERRED key would
pass: write parents first); it has no ON DELETE action in the database (Django's collector deletes
or protects in Python, children first, as it does with any ForeignKey); renaming or removing the
column or the child table needs the triggers gone first (RestoreForeignKey, then the change),
since the parent's function names the child in its text; parents are deleted or re-keyed in READ
COMMITTED transactions only (under a transaction snapshot the parent's check could miss a child
committed meanwhile, so it refuses, SQLSTATE 0A000; inserting children works at any level); a
partitioned child takes the triggers on the partitioned table (transition tables are not allowed on
a partition). COPY FROM fires the
statement triggers with their transition tables like INSERT (PostgreSQL 10+).

Use it in a migration, one line per foreign key (the model field says ``db_constraint=False``)::

    from backoffice.core.setfk import SetForeignKey

    class Migration(migrations.Migration):
        dependencies = [("accounting", "0007_day_totals_rule")]
        operations = [
            SetForeignKey("journalline", "gl_account"),
            SetForeignKey("journalline", "entry", lock_parent=False),  # entries are never deleted
        ]

It drops the real constraint and creates the triggers; reversed, it drops the triggers and restores
the constraint (Django's DEFERRABLE INITIALLY DEFERRED one). ``lock_parent=False`` skips the FOR KEY
SHARE locks: only for a parent whose rows are never deleted nor re-keyed (a guard refuses it), where
no concurrent transaction can take a parent away under a check.

The statements are built from table and column names (quoted identifiers), never from data: hence the
noqa S608 on them.
"""

import hashlib

from django.db import models
from django.db.migrations.operations.base import Operation

_MAX_NAME = 59  # PostgreSQL identifiers are 63 bytes; a trigger adds "_ins", "_upd" or "_del"


def _name(child_table: str, column: str, suffix: str) -> str:
    name = f"setfk_{child_table}_{column}_{suffix}"
    if len(name) <= _MAX_NAME:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[:_MAX_NAME - len(suffix) - 10]}_{digest}_{suffix}"


def trigger_names(child_table: str, column: str) -> dict[str, str]:
    """The names of the triggers (and of their functions) of one set foreign key."""
    return {kind: _name(child_table, column, kind) for kind in ("child", "parent", "truncate")}


def _q(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _lit(text: str) -> str:
    """A SQL string literal (for the text of a dynamic statement, and messages)."""
    return "'" + text.replace("'", "''") + "'"


def create_sql(*, child_table: str, column: str, child_pk: str, parent_table: str, parent_key: str,
               lock_parent: bool = True) -> str:
    """The SQL creating the triggers of one set foreign key: child_table.column references parent_table.parent_key.

    child_pk is the child's primary key column: an UPDATE checks only the rows whose key changed.
    """
    names = trigger_names(child_table, column)
    child, col, pk = _q(child_table), _q(column), _q(child_pk)
    parent, key = _q(parent_table), _q(parent_key)
    inserted = f"SELECT {col} AS k FROM setfk_new WHERE {col} IS NOT NULL"  # noqa: S608
    updated = (f"SELECT n.{col} AS k FROM setfk_new AS n LEFT JOIN setfk_old AS o ON o.{pk} = n.{pk} "  # noqa: S608
               f"WHERE n.{col} IS NOT NULL AND (o.{pk} IS NULL OR o.{col} IS DISTINCT FROM n.{col})")

    def check(new_keys: str) -> str:
        if lock_parent:
            # The parent rows found are locked FOR KEY SHARE (a concurrent DELETE or key UPDATE waits for us, and
            # one that committed first leaves the row out): every key is present when as many rows were locked
            # as there are distinct keys.
            return (f"WITH keys AS MATERIALIZED (SELECT DISTINCT k FROM ({new_keys}) AS s), "  # noqa: S608
                    f"found AS (SELECT p.{key} FROM {parent} AS p JOIN keys ON p.{key} = keys.k FOR KEY SHARE OF p) "
                    f"SELECT (SELECT count(*) FROM keys) = (SELECT count(*) FROM found)")
        return (f"SELECT NOT EXISTS (SELECT 1 FROM (SELECT DISTINCT k FROM ({new_keys}) AS s) AS keys "  # noqa: S608
                f"WHERE NOT EXISTS (SELECT 1 FROM {parent} AS p WHERE p.{key} = keys.k))")

    def missing(new_keys: str) -> str:
        return (f"SELECT keys.k::text FROM (SELECT DISTINCT k FROM ({new_keys}) AS s) AS keys "  # noqa: S608
                f"WHERE NOT EXISTS (SELECT 1 FROM {parent} AS p WHERE p.{key} = keys.k) LIMIT 1")

    # Old keys gone from the parent and referenced. An UPDATE first drops the keys it kept (one hash anti-join of
    # the statement's old and new rows, no index probe): updating other columns of parents costs next to nothing.
    gone = (f"NOT EXISTS (SELECT 1 FROM {parent} AS p WHERE p.{key} = o.{key}) "  # noqa: S608
            f"AND EXISTS (SELECT 1 FROM {child} AS c WHERE c.{col} = o.{key}) LIMIT 1")
    deleted = f"SELECT o.{key}::text FROM setfk_old AS o WHERE {gone}"  # noqa: S608
    rekeyed = (f"SELECT o.{key}::text FROM (SELECT {key} FROM setfk_old EXCEPT SELECT {key} FROM setfk_new) AS o "  # noqa: S608
               f"WHERE {gone}")
    rekeyed_any = f"SELECT EXISTS (SELECT {key} FROM setfk_old EXCEPT SELECT {key} FROM setfk_new)"  # noqa: S608
    violation = (f"'insert or update on table \"{child_table}\" violates set foreign key \"{names['child']}\": "  # noqa: S608
                 f"key ({column})=(%) is not present in table \"{parent_table}\"'")
    referenced = (f"'update or delete on table \"{parent_table}\" violates set foreign key \"{names['child']}\" on "  # noqa: S608
                  f"table \"{child_table}\": key ({parent_key})=(%) is still referenced from table "
                  f"\"{child_table}\"'")
    return f"""
CREATE OR REPLACE FUNCTION {names['child']}() RETURNS trigger AS $$
DECLARE
    ok boolean;
    bad text;
BEGIN
    -- Planned each time (EXECUTE): a plan made for a ten-row statement must not serve a million-row one.
    IF TG_OP = 'INSERT' THEN
        EXECUTE {_lit(check(inserted))} INTO ok;
        IF NOT ok THEN
            EXECUTE {_lit(missing(inserted))} INTO bad;
        END IF;
    ELSE
        EXECUTE {_lit(check(updated))} INTO ok;
        IF NOT ok THEN
            EXECUTE {_lit(missing(updated))} INTO bad;
        END IF;
    END IF;
    IF NOT ok THEN
        RAISE EXCEPTION {violation}, bad USING ERRCODE = 'foreign_key_violation', TABLE = {_lit(child_table)},
            COLUMN = {_lit(column)};
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER {names['child']}_ins AFTER INSERT ON {child} REFERENCING NEW TABLE AS setfk_new
    FOR EACH STATEMENT EXECUTE FUNCTION {names['child']}();
CREATE TRIGGER {names['child']}_upd AFTER UPDATE ON {child} REFERENCING OLD TABLE AS setfk_old NEW TABLE AS setfk_new
    FOR EACH STATEMENT EXECUTE FUNCTION {names['child']}();

CREATE OR REPLACE FUNCTION {names['parent']}() RETURNS trigger AS $$
DECLARE
    bad text;
    gone boolean;
BEGIN
    IF TG_OP = 'DELETE' THEN
        EXECUTE {_lit(deleted)} INTO bad;
    ELSE
        EXECUTE {_lit(rekeyed)} INTO bad;
    END IF;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION {referenced}, bad USING ERRCODE = 'foreign_key_violation', TABLE = {_lit(child_table)},
            COLUMN = {_lit(column)};
    END IF;
    -- Under a transaction snapshot the check cannot see children committed since it was taken (PostgreSQL's own
    -- keys use a fresh crosscheck snapshot there): parents go away in READ COMMITTED only.
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        IF TG_OP = 'DELETE' THEN
            EXECUTE 'SELECT EXISTS (SELECT 1 FROM setfk_old)' INTO gone;
        ELSE
            EXECUTE {_lit(rekeyed_any)} INTO gone;
        END IF;
        IF gone THEN
            RAISE EXCEPTION 'rows of "{parent_table}" (referenced by set foreign key "{names['child']}") can be '
                'deleted or re-keyed in READ COMMITTED transactions only' USING ERRCODE = 'feature_not_supported';
        END IF;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER {names['parent']}_del AFTER DELETE ON {parent} REFERENCING OLD TABLE AS setfk_old
    FOR EACH STATEMENT EXECUTE FUNCTION {names['parent']}();
CREATE TRIGGER {names['parent']}_upd AFTER UPDATE ON {parent} REFERENCING OLD TABLE AS setfk_old
    NEW TABLE AS setfk_new FOR EACH STATEMENT EXECUTE FUNCTION {names['parent']}();

CREATE OR REPLACE FUNCTION {names['truncate']}() RETURNS trigger AS $$
BEGIN
    -- Fired once the whole TRUNCATE is done: truncating the child in the same statement leaves nothing.
    IF EXISTS (SELECT 1 FROM {child} WHERE {col} IS NOT NULL) THEN
        RAISE EXCEPTION 'cannot truncate table "{parent_table}": table "{child_table}" references it through set '
            'foreign key "{names['child']}" (truncate both together)' USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER {names['truncate']} AFTER TRUNCATE ON {parent}
    FOR EACH STATEMENT EXECUTE FUNCTION {names['truncate']}();
"""  # noqa: S608


def drop_sql(*, child_table: str, column: str, parent_table: str) -> str:
    """The SQL dropping the triggers and functions of one set foreign key."""
    names = trigger_names(child_table, column)
    child, parent = _q(child_table), _q(parent_table)
    return f"""
DROP TRIGGER IF EXISTS {names['child']}_ins ON {child};
DROP TRIGGER IF EXISTS {names['child']}_upd ON {child};
DROP TRIGGER IF EXISTS {names['parent']}_del ON {parent};
DROP TRIGGER IF EXISTS {names['parent']}_upd ON {parent};
DROP TRIGGER IF EXISTS {names['truncate']} ON {parent};
DROP FUNCTION IF EXISTS {names['child']}();
DROP FUNCTION IF EXISTS {names['parent']}();
DROP FUNCTION IF EXISTS {names['truncate']}();
"""


def field_sql(field: models.ForeignKey, *, create: bool, lock_parent: bool = True) -> str:
    """create_sql or drop_sql for a ForeignKey field of a model."""
    child_table = field.model._meta.db_table
    parent_table = field.related_model._meta.db_table
    if not create:
        return drop_sql(child_table=child_table, column=field.column, parent_table=parent_table)
    return create_sql(child_table=child_table, column=field.column, child_pk=field.model._meta.pk.column,
                      parent_table=parent_table, parent_key=field.target_field.column, lock_parent=lock_parent)


class SetForeignKey(Operation):
    """Turn a ForeignKey's database constraint into set-based triggers (see the module docstring).

    The model's field must say db_constraint=False (this operation records it in the migration state).
    Reversible: backwards it drops the triggers and restores the FOREIGN KEY constraint.
    """

    reversible = True
    reduces_to_sql = True
    create = True

    def __init__(self, model_name: str, name: str, lock_parent: bool = True):
        self.model_name = model_name
        self.name = name
        self.lock_parent = lock_parent

    def deconstruct(self):
        kwargs = {"model_name": self.model_name, "name": self.name}
        if not self.lock_parent:
            kwargs["lock_parent"] = False
        return self.__class__.__qualname__, [], kwargs

    def state_forwards(self, app_label, state):
        self._set_constraint(app_label, state, not self.create)

    def _set_constraint(self, app_label, state, db_constraint: bool):
        model_name = self.model_name.lower()
        field = state.models[app_label, model_name].fields[self.name].clone()
        field.db_constraint = db_constraint
        state.alter_field(app_label, model_name, self.name, field, True)

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        self._apply(app_label, schema_editor, from_state, to_state, create=self.create)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        self._apply(app_label, schema_editor, from_state, to_state, create=not self.create)

    def _apply(self, app_label, schema_editor, from_state, to_state, *, create: bool):
        from_model = from_state.apps.get_model(app_label, self.model_name)
        to_model = to_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, to_model):
            return
        from_field = from_model._meta.get_field(self.name)
        to_field = to_model._meta.get_field(self.name)
        if create:
            if from_field.db_constraint:  # drops the FOREIGN KEY constraint
                schema_editor.alter_field(from_model, from_field, to_field)
            schema_editor.execute(field_sql(to_field, create=True, lock_parent=self.lock_parent), None)
        else:
            schema_editor.execute(field_sql(from_field, create=False), None)
            if to_field.db_constraint:  # restores it
                schema_editor.alter_field(from_model, from_field, to_field)

    def describe(self):
        return f"Set-based foreign key {self.model_name}.{self.name} (statement triggers instead of the constraint)"

    @property
    def migration_name_fragment(self):
        return f"setfk_{self.model_name.lower()}_{self.name.lower()}"


class RestoreForeignKey(SetForeignKey):
    """The inverse of SetForeignKey: drop the triggers and restore the FOREIGN KEY constraint (the model's field
    then says db_constraint=True again). Run it before renaming or removing the field or its model."""

    create = False

    def describe(self):
        return f"Restore the foreign key constraint of {self.model_name}.{self.name}"

    @property
    def migration_name_fragment(self):
        return f"restore_fk_{self.model_name.lower()}_{self.name.lower()}"
