#!/usr/bin/env python
"""What a foreign key costs per child row: PostgreSQL's FOREIGN KEY against a set-based one (backoffice/core/setfk.py).

    python bench/setfk.py --database-url postgres://postgres@127.0.0.1:5432/bench_setfk --rows 1000000

Creates (drops first) the database the URL names (refused unless its name starts with "bench"), then for each
form of the key inserts --rows child rows in one INSERT ... SELECT into a fresh child table and commits, timed
from the INSERT to the end of the COMMIT (a deferred key is checked there):

- none: no key (what writing the rows costs);
- fk deferred: REFERENCES ... DEFERRABLE INITIALLY DEFERRED, as Django makes them;
- fk immediate: REFERENCES ..., checked at the end of the statement;
- set, locking: set-based triggers, the parents found locked FOR KEY SHARE (the default);
- set, no lock: set-based triggers without the lock (lock_parent=False: a parent never deleted).

Two parents: a big one (one parent per three children, --rows / 3 parents, as journal entries are to their
lines) and a small one (300 parents, as instruments or GL accounts). Each child row references both, so every
form checks two keys a row; the figures are per row and per key, after "none" is taken off. Run with nothing
else on the machine to quote them; the load average is printed.
"""

import argparse
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backoffice.core.setfk import create_sql  # no Django setup: the SQL is plain text

SMALL = 300


def _admin_url(url: str) -> str:
    return urlparse(url)._replace(path="/postgres").geturl()


def fresh_database(url: str) -> None:
    name = urlparse(url).path.lstrip("/")
    if not name.startswith("bench"):
        raise SystemExit(f"refused: {name!r} does not start with 'bench'")
    with psycopg.connect(_admin_url(url), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')


def parents(conn, rows: int) -> None:
    conn.execute("CREATE TABLE big_parent (id bigint PRIMARY KEY, note text NOT NULL DEFAULT '')")
    conn.execute("CREATE TABLE small_parent (id bigint PRIMARY KEY, note text NOT NULL DEFAULT '')")
    conn.execute("INSERT INTO big_parent (id) SELECT generate_series(1, %s)", [rows // 3 + 1])
    conn.execute("INSERT INTO small_parent (id) SELECT generate_series(1, %s)", [SMALL])
    conn.execute("VACUUM ANALYZE big_parent")
    conn.execute("VACUUM ANALYZE small_parent")


FORMS = {
    "none": "",
    "fk deferred": " REFERENCES {parent} (id) DEFERRABLE INITIALLY DEFERRED",
    "fk immediate": " REFERENCES {parent} (id)",
    "set, locking": "set",
    "set, no lock": "set-nolock",
}


def one_form(conn, form: str, rows: int) -> float:
    kind = FORMS[form]
    conn.execute("DROP TABLE IF EXISTS child")
    for table in ("big_parent", "small_parent"):  # no set key left on the parents from the last form
        for (name,) in conn.execute("SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal",
                                    [table]).fetchall():
            conn.execute(f'DROP TRIGGER "{name}" ON {table}')
    big = "" if kind.startswith("set") else kind.format(parent="big_parent")
    small = "" if kind.startswith("set") else kind.format(parent="small_parent")
    conn.execute(f"CREATE TABLE child (id bigserial PRIMARY KEY, big_id bigint{big}, small_id bigint{small}, "
                 f"amount numeric(20, 4) NOT NULL)")
    conn.execute("CREATE INDEX child_big ON child (big_id)")
    conn.execute("CREATE INDEX child_small ON child (small_id)")
    if kind.startswith("set"):
        for column, parent in (("big_id", "big_parent"), ("small_id", "small_parent")):
            conn.execute(create_sql(child_table="child", column=column, child_pk="id", parent_table=parent,
                                    parent_key="id", lock_parent=kind == "set"))
    conn.execute("CHECKPOINT")
    started = time.monotonic()
    with conn.transaction():
        conn.execute("INSERT INTO child (big_id, small_id, amount) SELECT i / 3 + 1, i %% %s + 1, i * 0.01 "
                     "FROM generate_series(0, %s) AS i", [SMALL, rows - 1])
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=2, help="runs of each form; the best is kept")
    args = parser.parse_args()
    fresh_database(args.database_url)
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    with psycopg.connect(args.database_url, autocommit=True) as conn:
        parents(conn, args.rows)
        best = {}
        for _ in range(args.repeat):
            for form in FORMS:
                seconds = one_form(conn, form, args.rows)
                best[form] = min(best.get(form, seconds), seconds)
                print(f"  {form:<13} {seconds:7.2f} s", flush=True)
        conn.execute("DROP TABLE IF EXISTS child")
    print(f"{args.rows:,} child rows, two keys each (one parent per three rows; {SMALL} parents), best of "
          f"{args.repeat}, load average now {os.getloadavg()[0]:.2f}:")
    for form, seconds in best.items():
        extra = seconds - best["none"]
        print(f"  {form:<13} {seconds:7.2f} s   keys: {extra:6.2f} s = {extra / args.rows / 2 * 1e6:5.2f} µs per row "
              f"and key")
    with psycopg.connect(_admin_url(args.database_url), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{urlparse(args.database_url).path.lstrip("/")}"')


if __name__ == "__main__":
    main()
