"""Reads that may go to a read replica: the reports, which only read and may lag the primary by seconds.

Configured by settings.REPORTS_REPLICA (True when REPORTS_DATABASE_URL names a replica of the primary: the
`reports` alias). Code that reads for a report runs inside ``replica_reads()``; there, ReplicaRouter sends the
ORM's reads of the back-office apps' models to the replica, and ``read_connection()`` gives raw SQL the replica's
connection. Everything else (writes, the session and user of the request, any read outside the block, every read
without a replica) goes to the primary, as before. A replica is a physical copy: no migration runs on it.
"""

import contextlib
from contextvars import ContextVar

from django.conf import settings
from django.db import connections

REPORTS = "reports"
# The apps whose reads a report may take from the replica (not auth, sessions or the job framework's runs).
REPLICATED_APPS = frozenset({"records", "clearing", "settlements", "accounting", "compliance"})

_reading: ContextVar[bool] = ContextVar("replica_reads", default=False)


@contextlib.contextmanager
def replica_reads():
    """Within: a report's reads go to the replica when one is configured."""
    token = _reading.set(True)
    try:
        yield
    finally:
        _reading.reset(token)


def reads_alias() -> str:
    """The alias of the database this code reads from: the replica inside replica_reads() when configured."""
    if _reading.get() and getattr(settings, "REPORTS_REPLICA", False) and REPORTS in settings.DATABASES:
        return REPORTS
    return "default"


def read_connection():
    """The connection raw SQL of a report runs on (see reads_alias)."""
    return connections[reads_alias()]


class ReplicaRouter:
    """settings.DATABASE_ROUTERS: reads of the back-office apps' models inside replica_reads() go to the replica."""

    def db_for_read(self, model, **hints):
        if model._meta.app_label in REPLICATED_APPS and reads_alias() == REPORTS:
            return REPORTS
        return None

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the replica is a copy of the primary: the same rows

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db != REPORTS


def on_replica(view):
    """A report's view function: its reads inside replica_reads(), and a streamed body's too (a CSV download)."""
    import functools

    from django.http import StreamingHttpResponse

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        with replica_reads():
            response = view(request, *args, **kwargs)
        if isinstance(response, StreamingHttpResponse):
            response.streaming_content = _replica_iter(response.streaming_content)
        return response
    return wrapped


def _replica_iter(iterable):
    with replica_reads():
        yield from iterable


class ReplicaReadsMixin:
    """A report's API view: the request handled inside replica_reads() (the token and user still from the
    primary: ReplicaRouter routes only the back-office apps)."""

    def dispatch(self, request, *args, **kwargs):
        with replica_reads():
            return super().dispatch(request, *args, **kwargs)
