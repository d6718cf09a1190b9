"""CSV files: one cell rule, one line writer and one chunker for every CSV the platform writes.

Cells: None empty; booleans ``true``/``false``; decimals plain (``format_decimal``: ``189.25``,
never ``1.8925E+2``); dates ISO 8601; timestamps ISO 8601 in UTC; dicts and lists as canonical
JSON (backoffice.core.canonical). Every text cell, JSON included, that starts with ``= + - @``, a
tab or a carriage return gets a leading apostrophe, so a spreadsheet shows it instead of
evaluating it (CSV injection). Numbers are never guarded: ``-5`` stays a number.

Lines are RFC 4180 (CRLF, quoted as needed). csv_blocks joins them into blocks of about 64 KiB
for a streamed response: one write per line would cost a million socket writes for a million rows.

The books-and-records exports are signed by the SHA-256 of these bytes and regenerated to the same
hash, so the rule must not change for any value they hold.
"""

import csv
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from backoffice.core.canonical import canonical_json
from backoffice.core.fields import format_decimal

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BLOCK_BYTES = 64 * 1024  # text handed on per block of a streamed file


def csv_text(value: str) -> str:
    """Return a text cell, with a leading apostrophe when a spreadsheet would take it for a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def csv_timestamp(value: datetime) -> str:
    """Return a timestamp as ISO 8601 in UTC (a naive one as it is)."""
    if value.tzinfo is None:
        return value.isoformat()
    return (value if value.utcoffset() == timedelta(0) else value.astimezone(UTC)).isoformat()


def _json(value) -> str:
    return csv_text(canonical_json(value))


def _bool(value: bool) -> str:
    return "true" if value else "false"


# The exact types the database hands back: one dictionary lookup per cell.
_FORMATTERS = {
    type(None): lambda value: "", str: csv_text, int: str, float: str, bool: _bool, Decimal: format_decimal,
    date: date.isoformat, datetime: csv_timestamp, dict: _json, list: _json,
}


def csv_cell(value) -> str:
    """Format one value as a CSV cell (see the module doc)."""
    formatter = _FORMATTERS.get(value.__class__)
    if formatter is not None:
        return formatter(value)
    # Subclasses, in the order that tells them apart (bool is an int, datetime a date).
    if isinstance(value, str):
        return csv_text(value)
    if isinstance(value, bool):
        return _bool(value)
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, Decimal):
        return format_decimal(value)
    if isinstance(value, datetime):
        return csv_timestamp(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return _json(value)
    return csv_text(str(value))


class _Line:
    """A file-like object whose write returns what was written: csv.writer producing lines."""

    def write(self, text: str) -> str:
        return text


def csv_lines(columns: Iterable[str], rows: Iterable[tuple]) -> Iterator[str]:
    """Yield the header line, then one line per row (cells by csv_cell, in column order)."""
    writer = csv.writer(_Line())
    yield writer.writerow([csv_text(column) for column in columns])
    formatter = _FORMATTERS.get
    for row in rows:
        yield writer.writerow([(formatter(value.__class__) or csv_cell)(value) for value in row])


def csv_blocks(lines: Iterable[str], size: int | None = None) -> Iterator[str]:
    """Join lines into blocks of at least size characters (default BLOCK_BYTES), the last one shorter."""
    size = BLOCK_BYTES if size is None else size
    buffer, length = [], 0
    for line in lines:
        buffer.append(line)
        length += len(line)
        if length >= size:
            yield "".join(buffer)
            buffer, length = [], 0
    if buffer:
        yield "".join(buffer)
