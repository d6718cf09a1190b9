"""Tests on several real connections at once: a target in its own thread (and so its own connection),
and a wait until another session is blocked on a lock."""

import threading
import time

from django.db import connection, connections


def in_thread(target, outcome: dict, name: str) -> threading.Thread:
    """Start target in a thread named name; its return value, or what it raised, lands in outcome[name]."""
    def run():
        try:
            outcome[name] = target()
        except BaseException as exc:  # reported to the test, which asserts on it
            outcome[name] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, name=name)
    thread.start()
    return thread


def waiting_for_a_lock(timeout: float = 10.0) -> None:
    """Return once another session of this database waits for a lock (a row lock or an advisory lock)."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                           "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()")
            if cursor.fetchone()[0]:
                return
            time.sleep(0.05)
    raise AssertionError("nobody waited for a lock")
