"""Books-and-records exports: exact CSV, streamed, and a signed manifest that detects any change."""

import csv
import hashlib
import io
import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from backoffice.core.exceptions import BusinessRuleError, ConflictError
from records.audit.models import AuditRecord
from records.cash.services import cash_movement_create
from records.exports.models import ExportManifest
from records.exports.services import export_csv, export_manifest_create, export_manifest_verify
from records.trades.models import Trade
from tests.conftest import APPLE
from tests.records.helpers_exports import text, utc

pytestmark = pytest.mark.django_db

TRADE_HEADER = ("id,external_ref,trade_date,settlement_date,account,counterparty,isin,symbol,side,quantity,price,"
                "currency,commission,status,match_status,version,settled_quantity,submitted_by,created_at,updated_at")


# CSV content ------------------------------------------------------------------------------------

def test_trade_blotter_csv_is_exact_and_guards_formulas(export_book, day):
    first, second, _outside = Trade.objects.order_by("id")
    expected = (
        f"{TRADE_HEADER}\r\n"
        f"{first.pk},'=cmd|' /C calc'!A0,{day},{day + timedelta(days=2)},ACC-001,BRKR-A,{APPLE},AAPL,BUY,100,189.25,"
        f"USD,5,SETTLED,UNMATCHED,1,100,oms,{utc(first.created_at)},{utc(first.updated_at)}\r\n"
        f"{second.pk},OMS-2,{day + timedelta(days=1)},{day + timedelta(days=3)},HOUSE,BRKR-A,DE0007164600,SAP,SELL,0.5,"
        f"187.36,EUR,0,BOOKED,UNMATCHED,1,0,oms,{utc(second.created_at)},{utc(second.updated_at)}\r\n"
    )
    assert text("trades", day, day + timedelta(days=1)) == expected


def test_cash_csv_quotes_text_and_writes_amounts_as_plain_decimals(export_book, day):
    deposit, fee = export_book["cash"]
    assert text("cash", day, day) == (
        "id,value_date,account,currency,amount,kind,reference,description,created_by,created_at\r\n"
        f'{deposit.pk},{day},ACC-001,USD,1000000.5,DEPOSIT,WIRE-1,"Deposit, ""initial""",,{utc(deposit.created_at)}\r\n'
        f"{fee.pk},{day},ACC-001,USD,-0.25,FEE,FEE-1,'+1 fee,,{utc(fee.created_at)}\r\n"
    )


def test_stock_record_csv_is_the_positions_as_of_the_last_day_valued_at_the_latest_price(export_book, day):
    assert text("positions", day, day) == (
        "as_of,account,isin,symbol,currency,traded_quantity,settled_quantity,pending_receipt,pending_delivery,"
        "price,price_date,market_value\r\n"
        f"{day},HOUSE,{APPLE},AAPL,USD,100,100,0,0,189.255,{day},18925.5\r\n"
    )
    assert text("positions", day - timedelta(days=1), day - timedelta(days=1)).count("\r\n") == 1  # header only


def test_audit_trail_csv_holds_every_record_of_the_range_with_its_json(export_book):
    today = timezone.localdate()
    rows = list(csv.reader(io.StringIO(text("audit", today, today))))
    assert rows[0] == ["id", "at", "actor", "action", "record_type", "record_id", "reason", "correlation_id", "before",
                       "after", "content_hash"]
    assert len(rows) - 1 == AuditRecord.objects.count()
    record = AuditRecord.objects.get(record_type="records.cashmovement", after__reference="FEE-1")
    row = next(r for r in rows if r[0] == str(record.pk))
    assert row[:6] == [str(record.pk), utc(record.at), "test", "CREATE", "records.cashmovement", record.record_id]
    assert json.loads(row[9]) == record.after and row[10] == record.content_hash
    assert text("audit", today + timedelta(days=1), today + timedelta(days=1)).count("\r\n") == 1


def test_the_csv_is_lazy_and_read_in_chunks_without_model_instances(export_book, day, django_assert_num_queries):
    with django_assert_num_queries(0):
        stream = export_csv("trades", date_from=day, date_to=day)
    assert "".join(stream).count("\r\n") == 2


@pytest.mark.parametrize(("date_from", "date_to", "message"), [
    (date(2026, 1, 2), date(2026, 1, 1), "Must not be before"),
    (date(2025, 1, 1), date(2026, 1, 2), "at most 366 days"),
])
def test_bad_ranges_are_refused(date_from, date_to, message):
    with pytest.raises(BusinessRuleError, match=message):
        export_csv("trades", date_from=date_from, date_to=date_to)


# The manifest -----------------------------------------------------------------------------------

def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_manifest_lists_every_file_with_its_hash_rows_and_size_and_is_signed(export_book, day, settings):
    manifest = export_manifest_create(business_date=day, date_from=day, date_to=day + timedelta(days=1))
    directory = settings.RECORDS_EXPORT_DIR / day.isoformat()
    assert sorted(p.name for p in directory.iterdir()) == ["audit.csv", "cash.csv", "positions.csv", "trades.csv"]
    files = {f["name"]: f for f in manifest.files}
    assert sorted(files) == ["audit.csv", "cash.csv", "positions.csv", "trades.csv"]
    for name, entry in files.items():
        path = directory / name
        assert entry["sha256"] == sha256(path) and entry["bytes"] == path.stat().st_size
        assert entry["rows"] == path.read_bytes().count(b"\r\n") - 1
    assert (files["trades.csv"]["rows"], files["cash.csv"]["rows"], files["positions.csv"]["rows"]) == (2, 2, 1)
    assert (directory / "trades.csv").read_bytes().decode() == text("trades", day, day + timedelta(days=1))
    check = export_manifest_verify(ExportManifest.objects.get())
    assert check.ok and check.signature_ok and [f.ok for f in check.files] == [True] * 4
    audit = AuditRecord.objects.get(record_type="records.exportmanifest")
    assert (audit.action, audit.actor_label, audit.record_id) == ("CREATE", "job:daily-exports", str(manifest.pk))


def test_verification_detects_a_modified_or_missing_file_and_a_tampered_manifest(export_book, day, settings):
    manifest = export_manifest_create(business_date=day)
    path = settings.RECORDS_EXPORT_DIR / day.isoformat() / "cash.csv"
    path.write_bytes(path.read_bytes().replace(b"1000000.5", b"9000000.5"))
    check = export_manifest_verify(manifest)
    assert (check.ok, check.signature_ok) == (False, True)
    assert check.problems == ["cash.csv: content differs from the manifest"]
    path.unlink()
    assert export_manifest_verify(manifest).problems == ["cash.csv: missing"]

    tampered = ExportManifest.objects.get()
    tampered.files[0]["rows"] += 1
    assert not export_manifest_verify(tampered).signature_ok
    settings.RECORDS_SIGNING_KEY = "another key"
    assert not export_manifest_verify(ExportManifest.objects.get()).signature_ok


def test_the_manifest_is_made_once_per_business_date_and_restores_missing_files(export_book, day, settings):
    first = export_manifest_create(business_date=day)
    directory = settings.RECORDS_EXPORT_DIR / day.isoformat()
    (directory / "trades.csv").unlink()
    again = export_manifest_create(business_date=day)
    assert again.pk == first.pk and ExportManifest.objects.count() == 1
    assert export_manifest_verify(again).ok  # regenerated byte for byte
    with pytest.raises(ConflictError, match="covers"):
        export_manifest_create(business_date=day, date_from=day - timedelta(days=1))


def test_a_missing_file_is_not_regenerated_once_the_books_changed(export_book, day, settings, accounts):
    manifest = export_manifest_create(business_date=day)
    (settings.RECORDS_EXPORT_DIR / day.isoformat() / "cash.csv").unlink()
    cash_movement_create(actor="test", account=accounts["HOUSE"], currency="USD", amount=Decimal("1"),
                         value_date=day, reference="LATE-1")
    with pytest.raises(ConflictError, match="books have changed"):
        export_manifest_create(business_date=day)
    assert export_manifest_verify(manifest).problems == ["cash.csv: missing"]
