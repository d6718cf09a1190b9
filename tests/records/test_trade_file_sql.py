"""The SQL booking of trade files (records.trades.booking_sql) held to the Python rules it stands in for.

- Parsing: a staged row the SQL takes as clean is one parse_trade accepts, with the same canonical decimals
  and the same request hash (hypothesis over plain and odd values); the usual rows are clean.
- JSON: the SQL escaping of a trade's text is json's (canonical_json), hypothesis over awkward strings.
- Audit: the audit record of every trade a file books has the `after` snapshot(trade) gives and a content hash
  that verifies, with awkward external_refs; events and positions as the bulk path writes them.
"""

import csv
import io
from json.encoder import encode_basestring

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backoffice.core.canonical import canonical_json
from backoffice.core.jobs.services import job_run_execute
from records.audit.models import AuditRecord
from records.audit.services.audit import content_hash, snapshot
from records.trades import booking_sql
from records.trades.files.models import TradeFile, TradeFileRow
from records.trades.input import parse_trade
from records.trades.models import Trade, TradeEvent
from tests.conftest import APPLE, client_for, make_user
from tests.records.helpers_trades import assert_positions_equal_sum_of_trades

pytestmark = pytest.mark.django_db

FIELDS = booking_sql.STAGED

TEXT = st.one_of(st.sampled_from(["R1", "ACC-001", " R1", "R1 ", "a b", 'q"uote', "back\\slash", "é", "x" * 64,
                                  "x" * 65, "\t", "", "O'Brien", "R\u200b1"]),
                 st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=8))
DECIMAL = st.one_of(st.sampled_from(["100", "1.5", "0", "0.0", "00", "01", "1.", ".5", "-1", "+1", "1e3", "1E-2",
                                     "1.1234567", "1.12345600", "189.25", "0.00000001", "0.000000001", "1" * 18,
                                     "1" * 19, "1" * 16 + ".5", "1" * 17, "5.00", "١", " 1", "1 ", "NaN", "Infinity"]),
                    st.integers(0, 10).flatmap(lambda places: st.decimals(allow_nan=False, allow_infinity=False,
                                                                          places=places)).map(str),
                    st.from_regex(r"(0|[1-9][0-9]{0,20})(\.[0-9]{0,10})?", fullmatch=True))
DATE = st.one_of(st.sampled_from(["2026-11-20", "2026-02-29", "2024-02-29", "2026-02-30", "2026-13-01", "2026-00-10",
                                  "0000-01-01", "0001-01-01", "9999-12-31", "2026-1-1", "20261120", " 2026-11-20",
                                  "2026-11-31", "2026-04-31", "2026-12-31"]),
                 st.dates().map(lambda d: d.isoformat()))
CURRENCY = st.sampled_from(["USD", "EUR", "usd", "XYZ", "XAU", " USD", "JPY"])
OPTIONAL = {"currency": CURRENCY, "settlement_date": DATE, "commission": DECIMAL}
STAGED_ROW = st.fixed_dictionaries(
    {"external_ref": TEXT, "account": TEXT, "counterparty": TEXT, "instrument": TEXT,
     "side": st.sampled_from(["BUY", "SELL", "buy", " BUY", "HOLD"]), "quantity": DECIMAL, "price": DECIMAL,
     "trade_date": DATE},
    optional=OPTIONAL)


def _stage(user, rows: list[dict]) -> TradeFile:
    file = TradeFile.objects.create(name="t.csv", format="csv", size=0, sha256="", uploaded_by=user,
                                    row_count=len(rows))
    TradeFileRow.objects.bulk_create([TradeFileRow(file=file, seq=n, line=n + 2, **{k: v or None for k, v in r.items()})
                                      for n, r in enumerate(rows)])
    return file


def _parsed_in_sql(file: TradeFile, count: int) -> dict[int, tuple]:
    with transaction.atomic(), connection.cursor() as cursor:
        booking_sql.parse_in_sql(cursor, {"file": file.pk, "start": 0, "stop": count})
        cursor.execute("SELECT seq, quantity, price, commission, request_hash, trade_date, settlement_date, "
                       "external_ref, currency FROM records_tradefile_valid")
        return {row[0]: row[1:] for row in cursor.fetchall()}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(STAGED_ROW, min_size=1, max_size=10))
def test_a_row_parsed_in_sql_is_one_parse_trade_accepts_with_the_same_values(django_user_model, rows):
    user, _ = django_user_model.objects.get_or_create(username="sql-parse")
    file = _stage(user, rows)
    parsed = _parsed_in_sql(file, len(rows))
    for seq, row in enumerate(rows):
        if seq not in parsed:
            continue  # parse_trade's to judge, in Python
        item, errors = parse_trade({k: v for k, v in row.items() if v})
        assert not errors, (row, errors)
        quantity, price, commission, request_hash, trade_date, settlement_date, ref, currency = parsed[seq]
        assert (quantity, price, commission) == item.canonical_decimals
        assert request_hash == item.request_hash()
        assert (trade_date, settlement_date, ref, currency) == (item.trade_date, item.settlement_date,
                                                                item.external_ref, item.currency)


def test_the_rows_clients_send_are_parsed_in_sql(django_user_model):
    user = django_user_model.objects.create(username="sql-clean")
    good = {"external_ref": "OMS-1", "account": "ACC-001", "counterparty": "BRKR-A", "instrument": APPLE,
            "side": "BUY", "quantity": "100", "price": "189.25", "trade_date": "2026-11-20"}
    rows = [good, {**good, "currency": "USD", "commission": "5.00", "settlement_date": "2026-11-23"},
            {**good, "side": "SELL", "quantity": "0.5", "price": "10"},
            {**good, "quantity": "0"}, {**good, "price": "1e3"}, {**good, "external_ref": " OMS-1"}]
    assert sorted(_parsed_in_sql(_stage(user, rows), len(rows))) == [0, 1, 2]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"]), max_size=20))
def test_text_is_escaped_in_sql_as_the_canonical_json_escapes_it(db, text):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {booking_sql.sql_json_string('%s')}", [text])
        assert cursor.fetchone()[0] == encode_basestring(text) == canonical_json(text)


AWKWARD_REFS = ['Q"1', "B\\2", "É-3", "space in 4", " padded 5 ", "O'Brien 6", "日本-7", "emoji-🙂-8", "a·b-9"]


def _csv(rows):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["external_ref", "account", "counterparty", "instrument", "side", "quantity", "price",
                     "trade_date", "commission"])
    writer.writerows(rows)
    return out.getvalue().encode()


def test_the_audit_records_events_and_positions_of_a_file_are_the_bulk_paths(refdata):
    from django.core.files.uploadedfile import SimpleUploadedFile

    rows = [[ref, "ACC-001", "BRKR-A", APPLE, "BUY" if n % 3 else "SELL", str(10 * (n + 1)), "189.25", "2026-11-20",
             "" if n % 2 else "1.50"] for n, ref in enumerate(AWKWARD_REFS)]
    rows.append(["plain-10", "ACC-001", "BRKR-A", APPLE, "BUY", "1e2", "189.2500", "2026-11-20", "0.10"])
    by_file, by_bulk = make_user("awk-file", "front_office"), make_user("awk-bulk", "front_office")
    uploaded = client_for(by_file).post("/api/v1/trades/files/", {"file": SimpleUploadedFile(
        "a.csv", _csv(rows), content_type="text/csv")}, format="multipart")
    assert uploaded.status_code == 202, uploaded.content
    assert job_run_execute(job_id=uploaded.json()["id"]).status == "COMPLETED"
    items = [{k: v for k, v in zip(["external_ref", "account", "counterparty", "instrument", "side", "quantity",
                                    "price", "trade_date", "commission"], r, strict=True) if v} for r in rows]
    bulk = client_for(by_bulk).post("/api/v1/trades/bulk/", {"trades": items}, format="json")
    assert bulk.json()["created"] == len(rows), bulk.content

    file_trades = list(Trade.objects.filter(submitted_by=by_file).order_by("id"))
    bulk_trades = list(Trade.objects.filter(submitted_by=by_bulk).order_by("id"))
    assert [t.external_ref for t in file_trades] == [r[0].strip() for r in rows]
    for file_trade, bulk_trade in zip(file_trades, bulk_trades, strict=True):
        records = {}
        for trade in (file_trade, bulk_trade):
            record = AuditRecord.objects.get(record_type="records.trade", record_id=str(trade.pk))
            assert content_hash(record) == record.content_hash  # the SQL hash verifies
            assert canonical_json(record.after) == canonical_json(snapshot(trade))
            assert (record.action, record.before, record.reason) == ("CREATE", None, "")
            records[trade.pk] = {k: v for k, v in record.after.items() if k not in ("id", "submitted_by_id")}
        assert records[file_trade.pk] == records[bulk_trade.pk]
        events = [list(TradeEvent.objects.filter(trade=t).values_list("action", "from_status", "to_status",
                                                                          "reason")) for t in (file_trade, bulk_trade)]
        assert events[0] == events[1] == [("BOOK", "NEW", "BOOKED", "")]
    assert_positions_equal_sum_of_trades()


def test_held_and_refused_rows_of_a_file_are_the_bulk_paths(refdata):
    from decimal import Decimal

    from django.apps import apps
    from django.core.files.uploadedfile import SimpleUploadedFile

    rules = apps.get_model("compliance", "ComplianceRule").objects
    rules.filter(code="notional-hold").update(threshold=Decimal("10000"))
    rules.filter(code="quantity-reject").update(threshold=Decimal("500"))
    rows = [["H-1", "ACC-001", "BRKR-A", APPLE, "BUY", "10", "189.25", "2026-11-20", ""],  # booked
            ["H-2", "ACC-001", "BRKR-A", APPLE, "BUY", "100", "189.25", "2026-11-20", ""],  # held: notional
            ["H-3", "ACC-001", "BRKR-A", APPLE, "SELL", "600", "189.25", "2026-11-20", ""],  # refused: quantity
            ["H-2", "ACC-001", "BRKR-A", APPLE, "BUY", "100", "189.25", "2026-11-20", ""],  # the held trade again
            ["H-3", "ACC-001", "BRKR-A", APPLE, "SELL", "600", "189.25", "2026-11-20", ""]]  # refused again
    by_file, by_bulk = make_user("hold-file", "front_office"), make_user("hold-bulk", "front_office")
    uploaded = client_for(by_file).post("/api/v1/trades/files/", {"file": SimpleUploadedFile(
        "h.csv", _csv(rows), content_type="text/csv")}, format="multipart")
    assert job_run_execute(job_id=uploaded.json()["id"]).status == "COMPLETED"
    report = client_for(by_file).get(f"/api/v1/trades/files/{uploaded.json()['file']['id']}/report/",
                                     {"format": "ndjson"})
    import json

    from_file = [json.loads(line) for line in b"".join(report.streaming_content).decode().splitlines()]
    items = [{k: v for k, v in zip(["external_ref", "account", "counterparty", "instrument", "side", "quantity",
                                    "price", "trade_date", "commission"], r, strict=True) if v} for r in rows]
    from_bulk = client_for(by_bulk).post("/api/v1/trades/bulk/", {"trades": items}, format="json").json()["results"]
    assert [(r["status"], r["errors"]) for r in from_file] == [(r["status"], r.get("errors")) for r in from_bulk]
    assert [r["status"] for r in from_file] == ["created", "created", "rejected", "duplicate", "rejected"]
    assert from_file[3]["trade_id"] == from_file[1]["trade_id"]
    for user in (by_file, by_bulk):
        held = Trade.objects.get(submitted_by=user, external_ref="H-2")
        assert held.status == "HELD" and held.hold_reasons and held.hold_reasons[0].startswith("[notional-hold]")
        event = TradeEvent.objects.get(trade=held)
        assert (event.action, event.to_status, event.reason) == ("HOLD", "HELD", "; ".join(held.hold_reasons))
        record = AuditRecord.objects.get(record_type="records.trade", record_id=str(held.pk))
        assert content_hash(record) == record.content_hash
        assert canonical_json(record.after) == canonical_json(snapshot(held))
    assert_positions_equal_sum_of_trades()
