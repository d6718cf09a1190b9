"""What `make run` and `make test` start: the embedded database around a command, and the app itself.

    python -m backoffice.launcher serve            # migrate, demo data, admin login; web + worker + beat
    python -m backoffice.launcher with-db -- CMD   # CMD with the database up (make test)
    python -m backoffice.launcher db start|stop    # the embedded server alone

With DATABASE_URL set nothing is embedded: the commands run against that server. Without it the
embedded PostgreSQL (backoffice.embedded_postgres) is started first and, if this launcher started it,
stopped last, after every process using it has exited. Ctrl-C ends `serve` cleanly: the Procfile
processes get SIGTERM (gunicorn and Celery shut down gracefully), then the database stops, and the
exit status is 0. Nothing here sets up Django: child processes do.
"""

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path

from backoffice import celery, embedded_postgres

if celery.settings_defaulted:
    # Importing the package set Celery's default for this process; each child picks its own
    # (manage.py, gunicorn and Celery default to base settings, pytest reads pyproject.toml).
    os.environ.pop("DJANGO_SETTINGS_MODULE", None)

BASE_DIR = Path(__file__).resolve().parent.parent
# How long Procfile processes get to finish after SIGTERM (a Celery task in flight included).
SHUTDOWN_SECONDS = 60


def var_dir() -> Path:
    return Path(os.environ.get("BACKOFFICE_VAR_DIR", BASE_DIR / "var"))


def embedded() -> bool:
    return not os.environ.get("DATABASE_URL")


def database_up() -> bool:
    """Start the embedded server if it is the database; return whether this call started it."""
    if not embedded():
        return False
    for folder in ("broker", "broker-processed", "broker-control"):
        (var_dir() / folder).mkdir(parents=True, exist_ok=True)
    return embedded_postgres.start(embedded_postgres.pgdata(var_dir()))


def database_down(started: bool) -> None:
    if started:
        embedded_postgres.stop(embedded_postgres.pgdata(var_dir()))


def with_db(command: list[str]) -> int:
    """Run command with the database up; SIGINT reaches it from the terminal, SIGTERM is passed on."""
    started = database_up()
    try:
        child = subprocess.Popen(command)
        previous_int = signal.signal(signal.SIGINT, signal.SIG_IGN)
        previous_term = signal.signal(signal.SIGTERM, lambda *_: child.terminate())
        try:
            return child.wait()
        finally:
            signal.signal(signal.SIGINT, previous_int)
            signal.signal(signal.SIGTERM, previous_term)
    finally:
        database_down(started)


def serve(port: int) -> int:
    """Set up (migrations, demo data, admin login), then run the Procfile until Ctrl-C."""
    from honcho import manager as honcho_manager
    from honcho.environ import parse_procfile

    started = database_up()
    try:
        python = sys.executable
        steps = [
            [python, "manage.py", "migrate", "--noinput"],
            [python, "manage.py", "load_demo", "--trades", os.environ.get("DEMO_TRADES", "2000")],
            [python, "manage.py", "ensure_admin"],
        ]
        for step in steps:
            if subprocess.run(step, cwd=BASE_DIR).returncode != 0:
                return 1
        print(f"\n  Dashboard  http://127.0.0.1:{port}/\n  Admin      http://127.0.0.1:{port}/admin/\n"
              f"  API docs   http://127.0.0.1:{port}/api/docs/\n  Health     http://127.0.0.1:{port}/healthz\n"
              "  Ctrl-C stops the web server, the Celery worker, Celery beat and the embedded database.\n",
              flush=True)
        honcho_manager.KILL_WAIT = SHUTDOWN_SECONDS
        procfile = parse_procfile((BASE_DIR / "Procfile").read_text())
        env = {**os.environ, "PORT": str(port)}
        processes = honcho_manager.Manager()
        for name, command in procfile.processes.items():
            processes.add_process(name, command, env=env, cwd=str(BASE_DIR))
        processes.loop()
        interrupted = processes.returncode in (130, 143)
        return 0 if interrupted else (processes.returncode or 0)
    finally:
        database_down(started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m backoffice.launcher")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve").add_argument("--port", type=int, default=int(os.environ.get("PORT", 8000)))
    commands.add_parser("with-db").add_argument("cmd", nargs=argparse.REMAINDER)
    commands.add_parser("db").add_argument("action", choices=["start", "stop"])
    args = parser.parse_args(argv)
    if args.command == "serve":
        return serve(args.port)
    if args.command == "with-db":
        cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
        if not cmd:
            parser.error("with-db needs a command")
        return with_db(cmd)
    if not embedded():
        print("DATABASE_URL is set: there is no embedded database to manage", file=sys.stderr)
        return 0
    if args.action == "start":
        database_up()
    else:
        embedded_postgres.stop(embedded_postgres.pgdata(var_dir()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
