"""Trade files: upload (stream the file into the staging table with COPY) and booking (chunk by chunk).

Upload reads the file a block at a time, never whole: it checks the shape (header, delimiter,
UTF-8), hashes it, and COPYs its rows into records_tradefilerow, each field as the text the file
gives (an empty CSV cell is an absent field). A file refused as a whole (400) stages nothing: the
upload is one transaction. Then the trade-file job books the staged rows in line order, CHUNK_ROWS
at a time, each chunk set-based in SQL from the staging rows (records.trades.booking_sql: the bulk
endpoint's outcome for every row, in its words), and writes every row's outcome back in the chunk's
transaction.
"""

import codecs
import csv
import hashlib
import json
import math
from collections.abc import Iterator
from decimal import Decimal

from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from backoffice.core.exceptions import BusinessRuleError
from backoffice.core.jobs import services as jobs
from records.audit.services.audit import audit_log, snapshot
from records.trades import booking_sql
from records.trades.bulk import BodyError
from records.trades.files.models import TRADE_FILE, TradeFile, TradeFileRow
from records.trades.input import FIELDS

CHUNK_ROWS = 10_000
BLOCK = 1 << 20
MAX_LINE = 1 << 20  # bytes: a trade is a few hundred; a longer line is not a trade file
REQUIRED_COLUMNS = ("external_ref", "account", "counterparty", "instrument", "side", "quantity", "price",
                    "trade_date")
OPTIONAL_COLUMNS = tuple(name for name in FIELDS if name not in REQUIRED_COLUMNS)
# The staged columns of a row, in TradeFileRow's order: the trade fields, then the NDJSON payload.
STAGED = ("external_ref", "account", "counterparty", "instrument", "side", "quantity", "price", "trade_date",
          "currency", "settlement_date", "commission")
_DELIMITERS = {";": "semicolons", "\t": "tabs", "|": "vertical bars"}


def expected_columns() -> str:
    return (f"{', '.join(REQUIRED_COLUMNS)}, and optionally {', '.join(OPTIONAL_COLUMNS)}")


class TradeFileRefused(BusinessRuleError):
    """The file as a whole is refused (400 under `file`): nothing is staged."""

    def __init__(self, message: str):
        super().__init__(message, field="file")


def file_format(*, name: str, content_type: str) -> str:
    """The format of an upload from its content type, else its name: csv or ndjson. Raises TradeFileRefused."""
    media = (content_type or "").split(";")[0].strip().lower()
    if media in ("text/csv", "application/csv"):
        return TradeFile.Format.CSV
    if media in ("application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines"):
        return TradeFile.Format.NDJSON
    lowered = (name or "").lower()
    if lowered.endswith(".csv"):
        return TradeFile.Format.CSV
    if lowered.endswith((".ndjson", ".jsonl")):
        return TradeFile.Format.NDJSON
    raise TradeFileRefused("Send a CSV file (text/csv, .csv) or an NDJSON file (application/x-ndjson, .ndjson).")


class _Reader:
    """The file's lines as text, a block at a time, counting bytes and hashing them as they pass."""

    def __init__(self, stream):
        self.stream = stream
        self.size = 0
        self.sha256 = hashlib.sha256()
        self.line = 0

    def lines(self) -> Iterator[str]:
        pending = b""
        while True:
            block = self.stream.read(BLOCK)
            if not block:
                break
            self.size += len(block)
            self.sha256.update(block)
            parts = (pending + block).split(b"\n")
            pending = parts.pop()
            for part in parts:
                yield self._text(part)
            if len(pending) > MAX_LINE:
                raise TradeFileRefused(f"Line {self.line + 1} is longer than {MAX_LINE:,} bytes: this is not a "
                                       "trade file (one trade a line).")
        if pending:
            yield self._text(pending)

    def _text(self, raw: bytes) -> str:
        self.line += 1
        if self.line == 1 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8):]
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise TradeFileRefused(
                f"The file is not UTF-8: byte 0x{raw[exc.start]:02X} at line {self.line}, column {exc.start + 1}. "
                "Save it as UTF-8.") from None
        if "\x00" in text:
            raise TradeFileRefused(f"The file has a NUL character at line {self.line}: it is not a text file.")
        return text


def _csv_header(header: list[str]) -> list[str]:
    columns = [name.strip() for name in header]
    if len(columns) == 1:
        for delimiter, name in _DELIMITERS.items():
            if delimiter in columns[0]:
                raise TradeFileRefused(
                    f"The header is separated by {name} ({delimiter!r}): separate the fields with commas. "
                    f"Expected columns: {expected_columns()}.")
    problems = []
    unknown = [name for name in columns if name not in FIELDS]
    if unknown:
        problems.append(f"Unknown column{'s' if len(unknown) > 1 else ''}: {', '.join(map(repr, unknown))}.")
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        problems.append(f"Missing column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}.")
    repeated = sorted({name for name in columns if columns.count(name) > 1})
    if repeated:
        problems.append(f"Repeated column{'s' if len(repeated) > 1 else ''}: {', '.join(repeated)}.")
    if problems:
        raise TradeFileRefused(" ".join(problems) + f" Expected columns: {expected_columns()}.")
    return columns


def _csv_rows(reader: _Reader, file: TradeFile) -> Iterator[tuple]:
    """(seq, line, 11 fields, payload, problem) per data row of a CSV file; blank lines are skipped."""
    rows = csv.reader(line + "\n" for line in reader.lines())
    try:
        header = next(rows, None)
        while header is not None and not any(cell.strip() for cell in header):
            header = next(rows, None)
        if header is None:
            raise TradeFileRefused("The file is empty.")
        columns = _csv_header(header)
        file.columns = columns
        width = len(columns)
        places = [columns.index(name) if name in columns else None for name in STAGED]
        seq = 0
        for cells in rows:
            if not cells or (len(cells) == 1 and not cells[0]):
                continue
            if len(cells) != width:
                what = "a truncated line?" if len(cells) < width else "a delimiter inside an unquoted field?"
                problem = (f"Line {rows.line_num} has {len(cells)} field{'s' if len(cells) != 1 else ''} where "
                           f"the header has {width} ({what}).")
                yield (seq, rows.line_num, *([None] * len(STAGED)), None, problem)
            else:
                yield (seq, rows.line_num, *[cells[p] or None if p is not None else None for p in places], None,
                       None)
            seq += 1
    except csv.Error as exc:
        raise TradeFileRefused(f"The CSV is malformed at line {rows.line_num}: {exc}.") from None


def _ndjson_rows(reader: _Reader) -> Iterator[tuple]:
    seq = 0
    for text in reader.lines():
        if not text.strip():
            continue
        yield (seq, reader.line, *([None] * len(STAGED)), text, None)
        seq += 1


_COPY_COLUMNS = ("file_id", "seq", "line", *STAGED, "payload", "problem")


@transaction.atomic
def trade_file_upload(*, uploaded_by, stream, name: str, format: str) -> TradeFile:
    """Stage a trade file (a binary stream, read a block at a time) and start the job booking it.

    Refuses the whole file (TradeFileRefused, nothing staged) when it is empty, not UTF-8, or a CSV
    whose header is wrong (unknown or missing columns, another delimiter). A row that cannot be read
    (a CSV line with the wrong number of fields, an NDJSON line that is not a JSON object) is staged
    and answers rejected in the report.
    """
    if format not in TradeFile.Format.values:
        raise TradeFileRefused(f"Unknown format {format!r}: csv or ndjson.")
    file = TradeFile.objects.create(name=(name or "upload")[:255], format=format, size=0, sha256="",
                                    uploaded_by=uploaded_by)
    reader = _Reader(stream)
    rows = _csv_rows(reader, file) if format == TradeFile.Format.CSV else _ndjson_rows(reader)
    count = 0
    table = connection.ops.quote_name(TradeFileRow._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(c) for c in _COPY_COLUMNS)
    file_id = file.pk
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        write = copy.write_row
        for row in rows:
            write((file_id, *row))
            count += 1
    if count == 0:
        raise TradeFileRefused("The file is empty." if reader.size == 0 or format == TradeFile.Format.NDJSON
                               else "The file has a header but no trades.")
    file.size, file.sha256, file.row_count = reader.size, reader.sha256.hexdigest(), count
    file.save(update_fields=["size", "sha256", "row_count", "columns"])
    audit_log(actor=uploaded_by, action="CREATE", instance=file, after=snapshot(file),
              reason=f"trade file {file.name}: {count} rows")
    job = jobs.job_start(kind=TRADE_FILE, params={"file_id": file.pk}, started_by=uploaded_by)
    TradeFile.objects.filter(pk=file.pk).update(job=job)
    file.job = job
    return file


# Booking -----------------------------------------------------------------------------------------------

def _reject_constant(name):
    raise ValueError(f"{name} is not a valid number")


def _body(row: tuple):
    """The trade body of a staged row as the bulk endpoint would get it, or a BodyError."""
    *fields, payload, problem = row
    if problem is not None:
        return BodyError({"non_field_errors": [problem]})
    if payload is None:
        return {name: value for name, value in zip(STAGED, fields, strict=True) if value is not None}
    try:
        return json.loads(payload, parse_float=Decimal, parse_constant=_reject_constant)
    except RecursionError:
        return BodyError({"non_field_errors": ["JSON parse error - nested too deeply"]})
    except ValueError as exc:
        return BodyError({"non_field_errors": [f"JSON parse error - {exc}"]})


# The outcomes of a chunk go to a temporary table by COPY, then onto the staging rows in one UPDATE: binding
# four arrays of 10,000 values as parameters costs more in Python than the whole COPY.
_OUTCOMES_TABLE = (
    "CREATE TEMPORARY TABLE IF NOT EXISTS records_tradefile_outcome "
    "(id bigint PRIMARY KEY, outcome text, trade_id bigint, errors jsonb) ON COMMIT DELETE ROWS")
_COPY_OUTCOMES = "COPY records_tradefile_outcome (id, outcome, trade_id, errors) FROM STDIN"
_WRITE_OUTCOMES = (
    "UPDATE records_tradefilerow r SET outcome = u.outcome, trade_id = u.trade_id, errors = u.errors "
    "FROM records_tradefile_outcome u WHERE r.id = u.id")


def trade_file_book_chunk(*, file_id: int, job_id: int | None = None) -> int:
    """Book the next CHUNK_ROWS staged rows of a file (in line order), record their outcomes; return the rows.

    Call inside the chunk's transaction. The file's row is locked first, so the chunks of a file
    run one after the other in line order whichever worker takes them (the first of two rows with
    the same external_ref is the one booked, as in a bulk request); `rows_done` is where the next
    chunk starts. A rerun after a failure continues there. The booking is set-based in SQL from the
    staging rows (records.trades.booking_sql), with the bulk endpoint's outcome for every row.
    """
    file = TradeFile.objects.select_for_update().select_related("uploaded_by").get(pk=file_id)
    start = file.rows_done
    results = booking_sql.book_chunk(file_id=file_id, start=start, stop=start + CHUNK_ROWS,
                                     submitted_by=file.uploaded_by, body=_body)
    if not results:
        return 0
    counts = dict.fromkeys(("created", "duplicate", "rejected"), 0)
    with connection.cursor() as cursor:
        cursor.execute(_OUTCOMES_TABLE)
        with cursor.cursor.copy(_COPY_OUTCOMES) as copy:
            write = copy.write_row
            for row_id, status, trade_id, errors in results:
                counts[status] += 1
                write((row_id, status, trade_id, None if errors is None else json.dumps(errors)))
        cursor.execute(_WRITE_OUTCOMES)
        cursor.execute("TRUNCATE records_tradefile_outcome")
    TradeFile.objects.filter(pk=file_id).update(
        rows_done=start + len(results), created=file.created + counts["created"],
        duplicate=file.duplicate + counts["duplicate"], rejected=file.rejected + counts["rejected"],
        **({"job_id": job_id} if job_id else {}))
    return len(results)


def trade_file_finish(*, file_id: int) -> dict:
    """Mark a file booked (every row has its outcome) and return its counts and report URL (the job's result)."""
    file = TradeFile.objects.select_for_update().get(pk=file_id)
    if file.rows_done < file.row_count:
        raise BusinessRuleError(f"Trade file {file.pk}: {file.row_count - file.rows_done} rows not booked.")
    if file.completed_at is None:
        file.completed_at = timezone.now()
        file.save(update_fields=["completed_at"])
    return {"rows": 0, "file_id": file.pk, "rows_total": file.row_count, "created": file.created,
            "duplicate": file.duplicate, "rejected": file.rejected,
            "report": reverse("api-trade-file-report", kwargs={"file_id": file.pk})}


def chunk_count(row_count: int) -> int:
    return max(1, math.ceil(row_count / CHUNK_ROWS))
