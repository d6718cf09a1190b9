"""Parse counterparties' confirmations: one code path for the API (one or a list) and the CSV upload.

The rules are the kernel's (backoffice.core.fields: parse_text, parse_decimal, parse_date), as for
trades: a decimal with more places than the field holds ("101.12999999999999545" for a price) is
refused, never rounded. `ConfirmationInputSchema` in clearing.matching.api documents the same body
for OpenAPI with the serializer fields built on those rules.
"""

import csv
import io
from collections.abc import Iterator

from backoffice.core.fields import NULL, PRICE, QUANTITY, REQUIRED, InputError, parse_date, parse_decimal, parse_text
from clearing.matching.services.confirmations import ConfirmationInput

SIDES = ("BUY", "SELL")
# The columns of an upload, in the order the API takes the fields (trade_ref optional).
CSV_COLUMNS = ("counterparty", "counterparty_ref", "account", "instrument", "side", "quantity", "price",
               "trade_date", "settlement_date", "trade_ref")
REQUIRED_COLUMNS = CSV_COLUMNS[:-1]
MAX_UPLOAD_ROWS = 10_000


def _side(value) -> str:
    if value not in SIDES:
        raise InputError(f'"{value}" is not a valid choice.' if isinstance(value, str) else "Not a valid choice.",
                         "invalid_choice")
    return value


# (name, required, rule), in ConfirmationInput's order. An optional field may be absent or null.
_RULES = (
    ("counterparty", True, lambda value: parse_text(value, max_length=30)),
    ("counterparty_ref", True, lambda value: parse_text(value, max_length=64)),
    ("account", True, lambda value: parse_text(value, max_length=30)),
    ("instrument", True, lambda value: parse_text(value, max_length=12)),
    ("side", True, _side),
    ("quantity", True, lambda value: parse_decimal(value, kind=QUANTITY, positive=True)),
    ("price", True, lambda value: parse_decimal(value, kind=PRICE, positive=True)),
    ("trade_date", True, parse_date),
    ("settlement_date", True, parse_date),
    ("trade_ref", False, lambda value: parse_text(value, max_length=64, allow_blank=True)),
)


def parse_confirmation(data) -> tuple[ConfirmationInput | None, dict]:
    """Return (ConfirmationInput, {}) for a well-formed confirmation body, else (None, field errors)."""
    if not isinstance(data, dict):
        return None, {"non_field_errors": ["Invalid data. Expected a dictionary."]}
    errors: dict[str, list[str]] = {}
    values = {}
    for name, required, rule in _RULES:
        value = data.get(name)
        if value is None:
            if required:
                errors[name] = [REQUIRED if name not in data else NULL]
            continue
        try:
            values[name] = rule(value)
        except InputError as exc:
            errors[name] = [exc.message]
    if errors:
        return None, errors
    return ConfirmationInput(**values), {}


class UploadError(ValueError):
    """A file that cannot be read as a confirmations CSV at all (not one bad row): the message says why."""


def read_confirmation_csv(content: bytes) -> Iterator[tuple[int, dict]]:
    """Yield (line number, {column: text}) for each data row of an uploaded CSV.

    The header names the columns (any order; trade_ref may be left out). A row with more cells than
    the header has its extra cells under None, which parse_confirmation_row reports. Raises
    UploadError for a file that is not UTF-8 text, has no header, lacks a required column or holds
    more than MAX_UPLOAD_ROWS rows.
    """
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UploadError("The file is not UTF-8 text: save it as CSV (UTF-8).") from None
    reader = csv.DictReader(io.StringIO(text, newline=""), restkey=None, strict=False)
    try:
        header = reader.fieldnames
    except csv.Error as exc:
        raise UploadError(f"The file is not readable as CSV: {exc}.") from None
    if not header:
        raise UploadError("The file is empty: the first line must name the columns.")
    names = [(name or "").strip().lower() for name in header]
    missing = [column for column in REQUIRED_COLUMNS if column not in names]
    if missing:
        raise UploadError(f"Missing column{'s' * (len(missing) > 1)}: {', '.join(missing)}. The first line must "
                          f"name the columns: {', '.join(CSV_COLUMNS)} (trade_ref optional).")
    reader.fieldnames = names
    rows = 0
    try:
        for row in reader:
            if not any((value or "").strip() for key, value in row.items() if key is not None) and None not in row:
                continue  # a blank line
            rows += 1
            if rows > MAX_UPLOAD_ROWS:
                raise UploadError(f"More than {MAX_UPLOAD_ROWS:,} rows: split the file.")
            yield reader.line_num, row
    except csv.Error as exc:
        raise UploadError(f"Line {reader.line_num} is not readable as CSV: {exc}.") from None


def parse_confirmation_row(row: dict) -> tuple[ConfirmationInput | None, dict]:
    """Parse one CSV row as the API body it stands for: empty cells are absent fields."""
    extra = row.get(None)
    if extra:
        return None, {"non_field_errors": [f"{len(extra)} more cell{'s' * (len(extra) > 1)} than the header has "
                                           "columns."]}
    body = {name: value for name, value in row.items()
            if name in CSV_COLUMNS and value is not None and value.strip() != ""}
    return parse_confirmation(body)
