"""Books-and-records exports: CSV per date range, streamed, and the signed daily manifest (docs/glossary.md).

Every export is a generator of CSV text built from ``values_list(...).iterator()``: no model
instances, a server-side cursor on PostgreSQL, and output handed on in blocks of about 64 KiB,
so memory stays flat whatever the row count (bench/export_memory.py measures it).

Cells and lines are backoffice.core.csv_export's, the one CSV rule of the platform (the trade
blotter's download uses it too): decimals as plain strings (``189.25``, never ``1.8925E+2``),
dates ISO 8601, timestamps ISO 8601 in UTC, JSON canonical. Text cells starting with ``= + - @``,
a tab or a carriage return get a leading apostrophe, so a spreadsheet shows them instead of
evaluating them (CSV injection).

Kinds are registered in EXPORTS; accounting adds the general ledger with export_register.

The daily manifest lists each file with its row count, byte size and SHA-256, and is signed
with HMAC-SHA256 (records.exports.signing). It is created once per business date: a rerun
returns the existing manifest, first regenerating any file that has gone missing, which must
hash to what the manifest recorded (if the books changed since, it refuses: ConflictError).
"""

import contextlib
import hashlib
import os
import shutil
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from backoffice.core.csv_export import csv_blocks, csv_lines
from backoffice.core.exceptions import BusinessRuleError, ConflictError
from records.audit.models import AuditRecord
from records.audit.services.audit import Actor, actor_fields, audit_log, snapshot
from records.cash.models import CashMovement
from records.exports.models import ExportManifest
from records.exports.signing import sign, signature_valid
from records.positions import selectors as positions_selectors
from records.trades import selectors as trades_selectors
from records.trades.models import Trade

ROW_CHUNK = 5000  # rows fetched per round trip
MAX_RANGE_DAYS = 366
EXPORT_ACTOR = "job:daily-exports"


@dataclass(frozen=True)
class ExportKind:
    """One export: its file name stem, the header row and the rows of a date range (tuples, header order)."""

    name: str
    title: str
    columns: tuple[str, ...]
    rows: Callable[[date, date], Iterable[tuple]]

    @property
    def filename(self) -> str:
        return f"{self.name}.csv"


EXPORTS: dict[str, ExportKind] = {}


def export_register(kind: ExportKind) -> ExportKind:
    EXPORTS[kind.name] = kind
    return kind


def _day_bounds(date_from: date, date_to: date) -> tuple[datetime, datetime]:
    start = timezone.make_aware(datetime.combine(date_from, time.min))
    end = timezone.make_aware(datetime.combine(date_to + timedelta(days=1), time.min))
    return start, end


# The trade blotter: every trade with a trade date in the range, by trade date then id. Its columns
# are declared with the blotter's download (records.trades.selectors), which differs only as that
# module explains.
TRADE_COLUMNS = trades_selectors.TRADE_RECORD_COLUMNS


def trade_blotter_rows(date_from: date, date_to: date) -> Iterator[tuple]:
    return (Trade.objects.filter(trade_date__gte=date_from, trade_date__lte=date_to).order_by("trade_date", "id")
            .values_list(*(path for _name, path in TRADE_COLUMNS)).iterator(chunk_size=ROW_CHUNK))


# The stock record: positions as of the end of the range, valued at the latest price on or before it.
POSITION_COLUMNS = ("as_of", "account", "isin", "symbol", "currency", "traded_quantity", "settled_quantity",
                    "pending_receipt", "pending_delivery", "price", "price_date", "market_value")


def stock_record_rows(date_from: date, date_to: date) -> Iterator[tuple]:
    rows = (positions_selectors.inventory_list(as_of=date_to)
            .values_list("account__code", "instrument__isin", "instrument__symbol", "instrument__currency",
                         "traded_as_of", "settled_as_of", "receipt_as_of", "delivery_as_of", "price", "price_date")
            .iterator(chunk_size=ROW_CHUNK))
    for account, isin, symbol, currency, traded, settled, receipt, delivery, price, price_date in rows:
        value = positions_selectors.inventory_value(traded, price, currency)
        yield (date_to, account, isin, symbol, currency, traded, settled, receipt, delivery, price, price_date, value)


CASH_COLUMNS = (
    ("id", "id"), ("value_date", "value_date"), ("account", "account__code"), ("currency", "currency"),
    ("amount", "amount"), ("kind", "kind"), ("reference", "reference"), ("description", "description"),
    ("created_by", "created_by__username"), ("created_at", "created_at"),
)


def cash_movement_rows(date_from: date, date_to: date) -> Iterator[tuple]:
    return (CashMovement.objects.filter(value_date__gte=date_from, value_date__lte=date_to)
            .order_by("value_date", "id").values_list(*(path for _name, path in CASH_COLUMNS))
            .iterator(chunk_size=ROW_CHUNK))


AUDIT_COLUMNS = ("id", "at", "actor", "action", "record_type", "record_id", "reason", "correlation_id", "before",
                 "after", "content_hash")


def audit_trail_rows(date_from: date, date_to: date) -> Iterator[tuple]:
    start, end = _day_bounds(date_from, date_to)
    return (AuditRecord.objects.filter(at__gte=start, at__lt=end).order_by("at", "id")
            .values_list("id", "at", "actor_label", "action", "record_type", "record_id", "reason", "correlation_id",
                         "before", "after", "content_hash").iterator(chunk_size=ROW_CHUNK))


export_register(ExportKind("trades", "Trade blotter", tuple(name for name, _path in TRADE_COLUMNS),
                           trade_blotter_rows))
export_register(ExportKind("positions", "Stock record (positions as of the last day)", POSITION_COLUMNS,
                           stock_record_rows))
export_register(ExportKind("cash", "Cash movements", tuple(name for name, _path in CASH_COLUMNS),
                           cash_movement_rows))
export_register(ExportKind("audit", "Audit trail", AUDIT_COLUMNS, audit_trail_rows))


def export_range_check(date_from: date, date_to: date) -> None:
    """Refuse a reversed range or one longer than MAX_RANGE_DAYS days."""
    if date_from > date_to:
        raise BusinessRuleError("Must not be before date_from.", field="date_to")
    if (date_to - date_from).days + 1 > MAX_RANGE_DAYS:
        raise BusinessRuleError(f"A range covers at most {MAX_RANGE_DAYS} days.", field="date_to")


def export_kind_get(name: str) -> ExportKind:
    kind = EXPORTS.get(name)
    if kind is None:
        raise BusinessRuleError(f"Unknown export {name!r}; one of {', '.join(EXPORTS)}.", field="kind")
    return kind


def export_csv(name: str, *, date_from: date, date_to: date) -> Iterator[str]:
    """Return a generator of the export's CSV text in blocks of about 64 KiB. Nothing is read until iterated."""
    kind = export_kind_get(name)
    export_range_check(date_from, date_to)
    return csv_blocks(csv_lines(kind.columns, kind.rows(date_from, date_to)))


def export_filename(name: str, *, date_from: date, date_to: date) -> str:
    return f"{name}_{date_from.isoformat()}_{date_to.isoformat()}.csv"


# Files and the manifest -------------------------------------------------------------------------

def export_dir() -> Path:
    return Path(getattr(settings, "RECORDS_EXPORT_DIR", settings.VAR_DIR / "exports"))


def manifest_dir(business_date: date) -> Path:
    return export_dir() / business_date.isoformat()


@dataclass(frozen=True)
class WrittenFile:
    name: str
    rows: int
    sha256: str
    bytes: int

    def as_dict(self) -> dict:
        return {"name": self.name, "rows": self.rows, "sha256": self.sha256, "bytes": self.bytes}


def export_write(name: str, *, path: Path, date_from: date, date_to: date) -> WrittenFile:
    """Write one export to path, hashing and counting as it streams."""
    kind = export_kind_get(name)
    digest, size, lines = hashlib.sha256(), 0, -1  # the header is not a row
    with open(path, "wb") as out:
        for line in csv_lines(kind.columns, kind.rows(date_from, date_to)):
            data = line.encode()
            digest.update(data)
            size += len(data)
            lines += 1
            out.write(data)  # buffered by the file object
    return WrittenFile(name=kind.filename, rows=lines, sha256=digest.hexdigest(), bytes=size)


def file_sha256(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as source:
        while block := source.read(1024 * 1024):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def manifest_content(manifest: ExportManifest) -> dict:
    """The signed content of a manifest: everything but the signature, canonical."""
    return {
        "business_date": manifest.business_date.isoformat(), "date_from": manifest.date_from.isoformat(),
        "date_to": manifest.date_to.isoformat(), "files": sorted(manifest.files, key=lambda f: f["name"]),
        "created_at": manifest.created_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "created_by": manifest.created_by,
    }


@contextlib.contextmanager
def _consistent_snapshot():
    """Read all the exports from one snapshot (a read-only REPEATABLE READ transaction).

    Only when not already inside a transaction (SET TRANSACTION must come first): inside one, the
    caller's transaction decides what the export sees.
    """
    if connection.in_atomic_block:
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


def _write_all(staging: Path, date_from: date, date_to: date) -> list[WrittenFile]:
    staging.mkdir(parents=True, exist_ok=True)
    with _consistent_snapshot():
        return [export_write(name, path=staging / kind.filename, date_from=date_from, date_to=date_to)
                for name, kind in EXPORTS.items()]


def export_manifest_create(*, business_date: date, date_from: date | None = None, date_to: date | None = None,
                           actor: Actor = EXPORT_ACTOR) -> ExportManifest:
    """Write every export of [date_from, date_to] (default: the business date alone) and sign their manifest.

    Idempotent per business date: a rerun returns the manifest already made (restoring missing
    files, see module doc); asking again with a different range is a ConflictError.
    """
    date_from = date_from or business_date
    date_to = date_to or business_date
    export_range_check(date_from, date_to)
    existing = ExportManifest.objects.filter(business_date=business_date).first()
    if existing is not None:
        return _existing(existing, date_from, date_to)
    directory = manifest_dir(business_date)
    staging = directory / f".staging-{uuid.uuid4().hex}"
    try:
        files = _write_all(staging, date_from, date_to)
        _user, label = actor_fields(actor)
        manifest = ExportManifest(business_date=business_date, date_from=date_from, date_to=date_to,
                                  files=[f.as_dict() for f in files], created_at=timezone.now(), created_by=label)
        manifest.signature = sign(manifest_content(manifest))
        try:
            with transaction.atomic():
                manifest.save(force_insert=True)
                audit_log(actor=actor, action="CREATE", instance=manifest, after=snapshot(manifest),
                          reason=f"books-and-records exports {date_from.isoformat()}..{date_to.isoformat()}")
                for written in files:
                    os.replace(staging / written.name, directory / written.name)
        except IntegrityError:
            # Another worker made this date's manifest first: theirs stands.
            return _existing(ExportManifest.objects.get(business_date=business_date), date_from, date_to)
        return manifest
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _existing(manifest: ExportManifest, date_from: date, date_to: date) -> ExportManifest:
    if (manifest.date_from, manifest.date_to) != (date_from, date_to):
        raise ConflictError(f"The manifest of {manifest.business_date} covers {manifest.date_from}.."
                            f"{manifest.date_to}, not {date_from}..{date_to}.")
    directory = manifest_dir(manifest.business_date)
    missing = [f for f in manifest.files if not (directory / f["name"]).exists()]
    if not missing:
        return manifest
    # Regenerate the lost files from the books; they must be byte for byte what was signed.
    staging = directory / f".staging-{uuid.uuid4().hex}"
    try:
        staging.mkdir(parents=True, exist_ok=True)
        with _consistent_snapshot():
            for entry in missing:
                name = entry["name"].removesuffix(".csv")
                written = export_write(name, path=staging / entry["name"], date_from=manifest.date_from,
                                       date_to=manifest.date_to)
                if written.sha256 != entry["sha256"]:
                    raise ConflictError(f"{entry['name']} of {manifest.business_date} is missing and the books "
                                        "have changed since it was signed: it cannot be regenerated.")
        for entry in missing:
            os.replace(staging / entry["name"], directory / entry["name"])
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return manifest


@dataclass
class FileCheck:
    name: str
    ok: bool
    problem: str = ""
    sha256: str = ""


@dataclass
class ManifestCheck:
    signature_ok: bool
    files: list[FileCheck] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.signature_ok and all(f.ok for f in self.files)

    @property
    def problems(self) -> list[str]:
        found = [] if self.signature_ok else ["the manifest's signature does not match its content"]
        return found + [f"{f.name}: {f.problem}" for f in self.files if not f.ok]


def export_manifest_verify(manifest: ExportManifest) -> ManifestCheck:
    """Recompute the manifest's signature and every file's SHA-256 and size."""
    check = ManifestCheck(signature_ok=signature_valid(manifest_content(manifest), manifest.signature))
    directory = manifest_dir(manifest.business_date)
    for entry in sorted(manifest.files, key=lambda f: f["name"]):
        path = directory / entry["name"]
        if not path.is_file():
            check.files.append(FileCheck(entry["name"], False, "missing"))
            continue
        digest, size = file_sha256(path)
        if digest != entry["sha256"] or size != entry["bytes"]:
            check.files.append(FileCheck(entry["name"], False, "content differs from the manifest", digest))
        else:
            check.files.append(FileCheck(entry["name"], True, sha256=digest))
    return check


def manifest_file_path(manifest: ExportManifest, name: str) -> Path | None:
    """Return the path of a file the manifest lists (None for any other name)."""
    if name not in {f["name"] for f in manifest.files}:
        return None
    return manifest_dir(manifest.business_date) / name
