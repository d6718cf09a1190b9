"""Canonical JSON: the one serialization that is hashed and signed.

Keys sorted, no whitespace (separators ``,`` and ``:``), text as UTF-8 rather than ``\\u`` escapes,
decimals as plain strings (``format_decimal``: ``"189.25"``, never a float), dates, times and
timestamps as ISO 8601 text. The audit trail's content hashes and block headers, the signatures of
export manifests and purge tombstones, and the JSON cells of CSV exports are all these bytes: a
change here would break the verification of every record already written, so it must not change.
"""

import datetime as dt
import functools
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from backoffice.core.fields import format_decimal


def json_default(value: Any) -> Any:
    """Return the JSON form of a value json cannot write: a Decimal as its plain text, a date, time or
    timestamp as ISO 8601. Refuse anything else (TypeError), as json does."""
    if isinstance(value, Decimal):
        return format_decimal(value)
    if isinstance(value, dt.date | dt.time):  # datetime is a date
        return value.isoformat()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


@functools.cache
def _encoder(default: Callable[[Any], Any]) -> json.JSONEncoder:
    # One per default, built once: json.dumps with any option builds a new encoder on every call.
    return json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=default)


def canonical_json(value: Any, *, default: Callable[[Any], Any] = json_default) -> str:
    """Serialize value canonically (see the module doc).

    default: as json.dumps's, for a caller that must write types beyond json_default's (it should
    defer to json_default for those); pass a module-level function, not a new lambda per call.
    """
    return _encoder(default).encode(value)


def canonical_json_bytes(value: Any) -> bytes:
    """Return canonical_json(value) encoded as UTF-8: the bytes that are hashed or signed."""
    return canonical_json(value).encode()
