"""GET /healthz: is the database answering, and can we hand work to the Celery broker?

No authentication: load balancers and orchestrators call it. Answers within about three seconds
whatever the broker does, and never puts credentials in its messages.
"""

import os
import tempfile
import threading
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

BROKER_TIMEOUT_SECONDS = 2.5
MESSAGE_MAX_LENGTH = 200


class HealthCheckError(Exception):
    pass


def _short(exc: BaseException, *, secrets: tuple[str, ...] = ()) -> str:
    """First line of an exception, its class name when empty, with any secret blanked out."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text[:MESSAGE_MAX_LENGTH]


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        row = cursor.fetchone()
    if not row or row[0] != 1:
        raise HealthCheckError("SELECT 1 returned an unexpected result")


def _filesystem_folders() -> list[str]:
    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}) or {}
    return sorted({options[key] for key in ("data_folder_in", "data_folder_out") if options.get(key)})


def _check_filesystem_broker() -> None:
    folders = _filesystem_folders()
    if not folders:
        raise HealthCheckError("no data folder configured for the filesystem broker")
    for folder in folders:
        if not os.path.isdir(folder):
            raise HealthCheckError(f"broker folder {folder} does not exist")
        # Write and remove a probe; kombu only reads files named *.msg, so a worker never sees it.
        try:
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".healthz-", suffix=".probe"):
                pass
        except OSError as exc:
            raise HealthCheckError(f"broker folder {folder} is not writable ({exc.strerror})") from exc


def _check_network_broker() -> None:
    from backoffice.celery import app

    # The URL from settings, as the rest of this check reports it (the app caches its configuration).
    with app.connection_for_write(settings.CELERY_BROKER_URL) as conn:
        conn.connect_timeout = BROKER_TIMEOUT_SECONDS
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=BROKER_TIMEOUT_SECONDS)


def _run_with_deadline(func, *, seconds: float) -> None:
    """Run func in a daemon thread and give up after seconds: a dead broker must not hang the check."""
    outcome: dict[str, BaseException] = {}

    def target():
        try:
            func()
        except BaseException as exc:  # reported to the caller, not lost in the thread
            outcome["error"] = exc

    worker = threading.Thread(target=target, name="healthz-broker", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise HealthCheckError(f"no answer within {seconds:g} s")
    if "error" in outcome:
        raise outcome["error"]


def check_broker() -> None:
    url = settings.CELERY_BROKER_URL
    if url.startswith("filesystem://"):
        _check_filesystem_broker()
        return
    _run_with_deadline(_check_network_broker, seconds=BROKER_TIMEOUT_SECONDS + 0.5)


def broker_scheme(url: str | None = None) -> str:
    """The broker URL's scheme only (redis, amqp, filesystem): never its host, user or password."""
    url = settings.CELERY_BROKER_URL if url is None else url
    return urlsplit(url).scheme or "unknown"


def _broker_secrets() -> tuple[str, ...]:
    password = urlsplit(settings.CELERY_BROKER_URL).password
    return (password,) if password else ()


def _database_secrets() -> tuple[str, ...]:
    password = settings.DATABASES["default"].get("PASSWORD")
    return (password,) if password else ()


def _status(check, *, secrets: tuple[str, ...]) -> str:
    try:
        check()
    except Exception as exc:
        return "error: " + _short(exc, secrets=secrets)
    return "ok"


@never_cache
@require_safe
def healthz(request):
    """Answer 200 when the database and the broker both work, else 503 naming what failed."""
    checks = {
        "database": _status(check_database, secrets=_database_secrets()),
        "broker": _status(check_broker, secrets=_broker_secrets()),
    }
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse({"status": "ok" if healthy else "error", **checks}, status=200 if healthy else 503)


def system_summary() -> dict:
    """What the dashboard shows about the platform: engines and modes, no hosts or credentials."""
    try:
        version = ".".join(str(part) for part in connection.get_database_version())
    except Exception:  # the home page must render even when the database cannot say
        version = ""
    return {
        "database": connection.display_name,
        "database_version": version,
        "broker": broker_scheme(),
        "task_mode": "eager (in process)" if settings.CELERY_TASK_ALWAYS_EAGER else "worker",
        "time_zone": settings.TIME_ZONE,
    }
