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
import threading
import time
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


def demo_commands(trades: str) -> list[list[str]]:
    """The demo firm's management commands, in order (make run; tests load the same chain)."""
    return [
        ["load_demo", "--trades", trades],
        ["load_shorts_demo"],  # short sales with their borrows and locates, held trades
        ["load_clearing_demo"],  # confirmations, and the past dates netted (the treasury funds what netting reserves)
        # Set up only: the end of day of each past date (load_eod_demo) settles, posts, marks and surveys.
        ["load_settlement_demo", "--no-runs"],
        ["load_accounting_demo", "--no-runs"],
        ["load_compliance_demo", "--no-runs"],
        ["load_eod_demo"],  # then the month-end closes and the alert queue worked
    ]


def serve(port: int) -> int:
    """Set up (migrations, demo data, admin login), then run the Procfile until Ctrl-C."""
    started = database_up()
    try:
        python = sys.executable
        steps = [
            [python, "manage.py", "migrate", "--noinput"],
            *([python, "manage.py", *command] for command in demo_commands(os.environ.get("DEMO_TRADES", "2000"))),
            [python, "manage.py", "ensure_admin"],
        ]
        for step in steps:
            if subprocess.run(step, cwd=BASE_DIR).returncode != 0:
                return 1
        print(f"\n  Dashboard  http://127.0.0.1:{port}/\n  Admin      http://127.0.0.1:{port}/admin/\n"
              f"  API docs   http://127.0.0.1:{port}/api/docs/\n  Health     http://127.0.0.1:{port}/healthz\n"
              "  Ctrl-C stops the web server, the Celery worker, Celery beat and the embedded database.\n",
              flush=True)
        return Supervisor(procfile(BASE_DIR / "Procfile"), env={**os.environ, "PORT": str(port)}).run()
    finally:
        database_down(started)


def procfile(path: Path) -> dict[str, str]:
    """The `name: command` lines of a Procfile."""
    processes = {}
    for line in path.read_text().splitlines():
        name, sep, command = line.partition(":")
        if sep and name.strip() and not name.lstrip().startswith("#"):
            processes[name.strip()] = command.strip()
    return processes


class Supervisor:
    """Run the Procfile's processes side by side, their output prefixed with their names.

    Each runs in a session of its own, so a Ctrl-C in the terminal reaches only this process. On
    SIGINT or SIGTERM, or when one process exits, every other one gets SIGTERM, addressed to its
    main process only: gunicorn's arbiter and Celery's main process then stop their own children
    gracefully (a signal to the whole group would kill Celery's pool under its feet and leave the
    main process waiting for it). Whatever still runs after SHUTDOWN_SECONDS is killed.
    """

    def __init__(self, commands: dict[str, str], env: dict[str, str]):
        self.commands, self.env = commands, env
        self.width = max(len(name) for name in commands)
        self.stopping = threading.Event()
        self.lock = threading.Lock()

    def say(self, name: str, line: str) -> None:
        with self.lock:
            sys.stdout.write(f"{time.strftime('%H:%M:%S')} {name:<{self.width}} | {line}\n")
            sys.stdout.flush()

    def run(self) -> int:
        children: dict[str, subprocess.Popen] = {}
        relays: dict[str, threading.Thread] = {}
        interrupted = threading.Event()

        def stop(signum, _frame):
            interrupted.set()
            self.stopping.set()

        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            for name, command in self.commands.items():
                child = subprocess.Popen(["/bin/sh", "-c", f"exec {command}"], cwd=BASE_DIR, env=self.env,
                                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
                                         start_new_session=True)
                children[name] = child
                relays[name] = threading.Thread(target=self._relay, args=(name, child), daemon=True)
                relays[name].start()
                self.say("system", f"{name} started (pid {child.pid})")
            while not self.stopping.wait(0.2):
                if any(child.poll() is not None for child in children.values()):
                    self.stopping.set()
            self._stop_all(children, relays)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if interrupted.is_set():
            return 0
        return next((child.returncode for child in children.values() if child.returncode), 0)

    def _relay(self, name: str, child: subprocess.Popen) -> None:
        for line in child.stdout:
            self.say(name, line.rstrip("\n"))

    def _stop_all(self, children: dict[str, subprocess.Popen], relays: dict[str, threading.Thread]) -> None:
        for name, child in children.items():
            if child.poll() is None:
                self.say("system", f"stopping {name}")
                child.terminate()
        deadline = time.monotonic() + SHUTDOWN_SECONDS
        for name, child in children.items():
            try:
                child.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.say("system", f"{name} did not stop in {SHUTDOWN_SECONDS} s: killing it")
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()
            relays[name].join(5)  # its last lines (what it said while stopping) before "stopped"
            self.say("system", f"{name} stopped (exit status {child.returncode})")


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
