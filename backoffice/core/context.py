"""Who and what caused the current change: the request or job, for the audit trail."""

import contextlib
import contextvars
import uuid

_correlation_id: contextvars.ContextVar[str] = contextvars.ContextVar("correlation_id", default="")


def correlation_id() -> str:
    """Return the id of the request or job being served ("" outside both)."""
    return _correlation_id.get()


@contextlib.contextmanager
def correlation(value: str | None = None):
    """Run a block under a correlation id (a request id, or ``job:<name>:<id>``)."""
    token = _correlation_id.set(value or f"req:{uuid.uuid4().hex[:16]}")
    try:
        yield _correlation_id.get()
    finally:
        _correlation_id.reset(token)


_request: contextvars.ContextVar = contextvars.ContextVar("request", default=None)


def current_user():
    """Return the authenticated user of the request being served, or None (jobs, shell)."""
    request = _request.get()
    user = getattr(request, "user", None) if request is not None else None
    return user if user is not None and user.is_authenticated else None


@contextlib.contextmanager
def serving(request):
    """Make `request` the one current_user() reads, for the duration of the block."""
    token = _request.set(request)
    try:
        yield
    finally:
        _request.reset(token)
