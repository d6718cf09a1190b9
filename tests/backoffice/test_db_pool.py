"""Connection pooling (settings DB_POOL_MAX_SIZE): off by default; on, the threads of a process share at most that
many connections, and a bad setting stops the process at start."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]

# Eight threads each run a query that holds its connection 0.3 s; the pool (at most two) makes them wait their turn.
THREADS = """
import django, os, threading
django.setup()
from django.conf import settings
from django.db import connection, connections
connection.settings_dict["NAME"] = os.environ["POOL_TEST_DATABASE"]  # the test database, before any connection
assert settings.DATABASES["default"]["CONN_MAX_AGE"] == 0, settings.DATABASES["default"]["CONN_MAX_AGE"]
pids, lock = [], threading.Lock()

def work():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid(), pg_sleep(0.3)")
        pid = cursor.fetchone()[0]
    with lock:
        pids.append(pid)
    connections.close_all()  # back to the pool, as Django does at the end of a request

threads = [threading.Thread(target=work) for _ in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
stats = connection.pool.get_stats()
print(len(pids), len(set(pids)), stats["pool_max"])
"""


def _run(code: str, **env) -> subprocess.CompletedProcess:
    environ = {**os.environ, "DJANGO_SETTINGS_MODULE": "backoffice.settings.base", "DEBUG": "false",
               "POOL_TEST_DATABASE": connection.settings_dict["NAME"], **env}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=environ, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.django_db  # the test database exists and connection names it
def test_with_a_pool_eight_threads_share_at_most_its_size_in_connections():
    done = _run(THREADS, DB_POOL_MAX_SIZE="2", DB_POOL_MIN_SIZE="1")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    queries, connections, pool_max = done.stdout.split()
    assert (int(queries), pool_max) == (8, "2")
    assert 1 <= int(connections) <= 2


def test_without_a_pool_connections_are_kept_per_thread_as_before():
    code = ("import django; django.setup(); from django.conf import settings; from django.db import connection; "
            "print(settings.DATABASES['default'].get('OPTIONS', {}).get('pool'), connection.pool)")
    done = _run(code, DB_POOL_MAX_SIZE="0", CONN_MAX_AGE="60")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["None", "None"]


def test_a_negative_pool_size_stops_the_process_with_a_clear_error():
    done = _run("import django; django.setup()", DB_POOL_MAX_SIZE="-1")
    assert done.returncode != 0
    assert "DB_POOL_MAX_SIZE must be 0 (no pool) or more, not -1" in done.stderr
