"""The launcher behind `make run` and `make test`, and the embedded database's helpers."""

import os
import select
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from backoffice import embedded_postgres, launcher

ROOT = Path(__file__).resolve().parents[2]

# A stand-in for gunicorn or Celery: says it started, and on SIGTERM says so and exits 0.
GRACEFUL = textwrap.dedent("""
    import signal, sys, time
    def term(*_):
        print("{name} got SIGTERM", flush=True)
        sys.exit(0)
    signal.signal(signal.SIGTERM, term)
    print("{name} up", flush=True)
    while True:
        time.sleep(0.05)
""")


def _supervise(commands: dict[str, str]) -> subprocess.Popen:
    code = f"from backoffice.launcher import Supervisor; import sys; sys.exit(Supervisor({commands!r}, env=dict(" \
           "__import__('os').environ)).run())"
    process = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, bufsize=0)
    process.seen = ""
    return process


def _wait_for(process: subprocess.Popen, text: str, timeout: float = 20) -> str:
    """Everything the process printed so far, once it has printed text (output read earlier counts too)."""
    deadline = time.monotonic() + timeout
    while text not in process.seen:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([process.stdout], [], [], remaining)[0]:
            raise AssertionError(f"{text!r} not seen in {process.seen!r}")
        chunk = os.read(process.stdout.fileno(), 65536)
        if not chunk:
            raise AssertionError(f"{text!r} not seen before the end: {process.seen!r}")
        process.seen += chunk.decode()
    return process.seen


def _finish(process: subprocess.Popen) -> str:
    """Wait for the process to end; everything it printed."""
    rest, _ = process.communicate(timeout=30)
    return process.seen + rest.decode()


def _script(tmp_path: Path, name: str) -> str:
    path = tmp_path / f"{name}.py"
    path.write_text(GRACEFUL.format(name=name))
    return f"{sys.executable} {path}"


def test_the_procfile_runs_gunicorn_a_worker_and_beat():
    processes = launcher.procfile(ROOT / "Procfile")
    assert sorted(processes) == ["beat", "web", "worker"]
    assert "gunicorn backoffice.wsgi:application" in processes["web"]
    assert "celery -A backoffice worker" in processes["worker"]
    assert "celery -A backoffice beat" in processes["beat"]


def test_ctrl_c_stops_every_process_gracefully_and_exits_zero(tmp_path):
    supervisor = _supervise({"web": _script(tmp_path, "web"), "worker": _script(tmp_path, "worker")})
    _wait_for(supervisor, "web up")
    _wait_for(supervisor, "worker up")
    supervisor.send_signal(signal.SIGINT)
    out = _finish(supervisor)
    assert supervisor.returncode == 0, out
    assert "web got SIGTERM" in out and "worker got SIGTERM" in out
    assert "web stopped (exit status 0)" in out and "worker stopped (exit status 0)" in out
    assert "killing" not in out


def test_when_one_process_dies_the_others_are_stopped_and_its_status_is_the_exit_status(tmp_path):
    supervisor = _supervise({"web": _script(tmp_path, "web"), "beat": f"{sys.executable} -c 'import sys; sys.exit(3)'"})
    out = _finish(supervisor)
    assert supervisor.returncode == 3, out
    assert "web got SIGTERM" in out


def test_the_processes_run_in_their_own_sessions_so_the_terminals_ctrl_c_does_not_reach_them(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("import os, time\nprint('session', os.getsid(0) == os.getpid(), flush=True)\ntime.sleep(30)\n")
    supervisor = _supervise({"probe": f"{sys.executable} {probe}"})
    seen = _wait_for(supervisor, "session")
    supervisor.send_signal(signal.SIGTERM)
    _finish(supervisor)
    assert "session True" in seen


def test_socket_dir_is_read_from_the_pid_file_else_the_data_directory(tmp_path):
    assert embedded_postgres.socket_dir(tmp_path) == tmp_path
    (tmp_path / "postmaster.pid").write_text(f"{os.getpid()}\n{tmp_path}\n1700000000\n5432\n/run/pg-elsewhere\n")
    assert embedded_postgres.socket_dir(tmp_path) == Path("/run/pg-elsewhere")
    assert embedded_postgres.is_running(tmp_path)  # the pid is this test's own process


def test_a_stale_pid_file_is_not_a_running_server(tmp_path):
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (tmp_path / "postmaster.pid").write_text(f"{finished.stdout.strip()}\n{tmp_path}\n")
    assert not embedded_postgres.is_running(tmp_path)
    assert not embedded_postgres.is_running(tmp_path / "missing")


def test_settings_refuse_a_database_other_than_postgresql():
    env = {**os.environ, "DATABASE_URL": "mysql://root@127.0.0.1/test",
           "DJANGO_SETTINGS_MODULE": "backoffice.settings.base"}
    result = subprocess.run([sys.executable, "-c", "import django; django.setup()"], cwd=ROOT, env=env,
                            capture_output=True, text=True)
    assert result.returncode != 0
    assert "DATABASE_URL must name a PostgreSQL server" in result.stderr


@pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")), reason="DATABASE_URL is set: no embedded server here")
def test_without_database_url_the_settings_point_at_the_embedded_server(settings):
    database = settings.DATABASES["default"]
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert database["HOST"] == str(embedded_postgres.socket_dir(embedded_postgres.pgdata(settings.VAR_DIR)))
