"""A trade file and POST /api/v1/trades/bulk/ give every row the same outcome (hypothesis, generated files).

Two submitters send the same trades, one as a file, one as a bulk request, so both paths book (idempotency
is per submitter). Per row: the same status and the same errors, word for word; the trades created: every
field the same but the id, the submitter and the timestamps.
"""

import csv
import io
import itertools
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from backoffice.core.canonical import canonical_json
from backoffice.core.jobs.services import job_run_execute
from records.audit.models import AuditRecord
from records.audit.services.audit import content_hash, snapshot
from records.trades.models import Trade, TradeEvent
from tests.conftest import APPLE, SAP, client_for, make_user
from tests.records.helpers_trades import assert_positions_equal_sum_of_trades

pytestmark = pytest.mark.django_db

FIELDS = ["external_ref", "account", "counterparty", "instrument", "side", "quantity", "price", "trade_date",
          "currency", "settlement_date", "commission"]
# Values a front-office file holds, good and bad; "" is an empty cell (an absent field).
VALUES = {
    # " R1 " and 'R"2\\' are valid but not in the plain form the SQL parses: parse_trade takes them (the first is R1).
    "external_ref": st.sampled_from(["R1", "R2", "R3", "R4", "", " ", "x" * 65, " R1 ", 'R"2\\']),
    "account": st.sampled_from(["ACC-001", "ACC-001", "HOUSE", "NOPE", ""]),
    "counterparty": st.sampled_from(["BRKR-A", "BRKR-A", "NSCC", "GHOST", ""]),
    "instrument": st.sampled_from([APPLE, APPLE, SAP, "XX0000000000", ""]),
    "side": st.sampled_from(["BUY", "SELL", "buy", ""]),
    "quantity": st.sampled_from(["100", "1.5", "7", "0", "-3", "1e3", "12x", "1.123456789", "", "100.000", "07"]),
    "price": st.sampled_from(["189.25", "10", "0.0001", "abc", "-1", ""]),
    "trade_date": st.sampled_from(["2026-11-20", "2026-11-19", "2026-11-21", "2031-01-02", "20/11/2026", ""]),
    "currency": st.sampled_from(["", "", "USD", "EUR", "usd", "XYZ"]),
    "settlement_date": st.sampled_from(["", "", "2026-11-23", "2026-11-18", "2026-11-22", "nope"]),
    "commission": st.sampled_from(["", "5.00", "0", "-1", "1.234"]),
}
GOOD = {
    "external_ref": st.sampled_from(["R1", "R2", "R3", "R4"]),
    "account": st.sampled_from(["ACC-001", "HOUSE"]),
    "counterparty": st.sampled_from(["BRKR-A", "NSCC"]),
    "instrument": st.just(APPLE),
    "side": st.sampled_from(["BUY", "SELL"]),
    "quantity": st.sampled_from(["100", "1.5", "7"]),
    "price": st.sampled_from(["189.25", "10"]),
    "trade_date": st.sampled_from(["2026-11-20", "2026-11-19"]),
    "currency": st.sampled_from(["", "USD"]),
    "settlement_date": st.sampled_from(["", "2026-11-23"]),
    "commission": st.sampled_from(["", "5.00", "0"]),
}


GOOD_ROW = {"account": "ACC-001", "counterparty": "BRKR-A", "instrument": APPLE, "side": "BUY", "quantity": "100",
            "price": "189.25", "trade_date": "2026-11-20", "currency": "", "settlement_date": "", "commission": "5.00"}


@st.composite
def trade_row(draw):
    """A good row, most of the time with up to two fields spoiled (or emptied) by a bad value."""
    row = draw(st.fixed_dictionaries(GOOD))
    for name in draw(st.lists(st.sampled_from(FIELDS), max_size=2, unique=True)):
        row[name] = draw(VALUES[name])
    return row


rows = st.lists(trade_row(), min_size=1, max_size=12)
_examples = itertools.count()


def _as_csv(file_rows):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FIELDS)
    writer.writerows([[r[name] for name in FIELDS] for r in file_rows])
    return out.getvalue().encode()


def _trade_fields(trade_id):
    trade = Trade.objects.get(pk=trade_id)
    return {f.attname: getattr(trade, f.attname) for f in Trade._meta.concrete_fields
            if f.attname not in ("id", "submitted_by_id", "created_at", "updated_at")}


def _written(trade_id):
    """What booking wrote beside the trade: its events and its audit record (after and content hash verified)."""
    events = list(TradeEvent.objects.filter(trade_id=trade_id).order_by("id").values_list(
        "action", "from_status", "to_status", "reason"))
    record = AuditRecord.objects.get(record_type="records.trade", record_id=str(trade_id))
    assert content_hash(record) == record.content_hash
    assert canonical_json(record.after) == canonical_json(snapshot(Trade.objects.get(pk=trade_id)))
    after = {k: v for k, v in record.after.items() if k not in ("id", "submitted_by_id")}
    return events, record.action, record.before, record.reason, after


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(file_rows=rows)
# Every outcome at least once, whatever the draws: a repeat, a conflicting repeat, bad rows.
@example(file_rows=[
    {**GOOD_ROW, "external_ref": "R1"}, {**GOOD_ROW, "external_ref": "R1"},
    {**GOOD_ROW, "external_ref": "R1", "quantity": "7"}, {**GOOD_ROW, "external_ref": "R2", "account": "NOPE"},
    {**GOOD_ROW, "external_ref": "R3", "trade_date": "2031-01-02"}, {**GOOD_ROW, "external_ref": "", "price": "x"},
    {**GOOD_ROW, "external_ref": "R4", "side": "SELL", "commission": ""},
])
def test_a_file_books_every_row_as_the_bulk_endpoint_books_the_same_trades(refdata, file_rows):
    example = next(_examples)
    file_rows = [dict(r) for r in file_rows]
    prefix = f"E{example}-"
    for r in file_rows:
        for ref in ("R1", "R2", "R3", "R4"):
            if r["external_ref"].strip().startswith(ref):
                r["external_ref"] = r["external_ref"].replace(ref, prefix + ref, 1)
    by_file = client_for(make_user(f"file{example}", "front_office"))
    by_bulk = client_for(make_user(f"bulk{example}", "front_office"))

    uploaded = by_file.post("/api/v1/trades/files/", {"file": SimpleUploadedFile("t.csv", _as_csv(file_rows),
                                                                                  content_type="text/csv")},
                            format="multipart")
    assert uploaded.status_code == 202, uploaded.content
    assert job_run_execute(job_id=uploaded.json()["id"]).status == "COMPLETED"
    report = by_file.get(f"/api/v1/trades/files/{uploaded.json()['file']['id']}/report/", {"format": "ndjson"})
    from_file = [json.loads(line) for line in b"".join(report.streaming_content).decode().splitlines()]

    items = [{name: value for name, value in r.items() if value != ""} for r in file_rows]
    bulk = by_bulk.post("/api/v1/trades/bulk/", {"trades": items}, format="json")
    assert bulk.status_code == 200, bulk.content
    from_bulk = bulk.json()["results"]

    assert [r["line"] for r in from_file] == list(range(2, len(file_rows) + 2))
    assert [(r["status"], r["errors"]) for r in from_file] == [(r["status"], r.get("errors")) for r in from_bulk]
    pairs = {(f["trade_id"], b.get("id")) for f, b in zip(from_file, from_bulk, strict=True)
             if f["status"] != "rejected"}
    assert len({f for f, _ in pairs}) == len({b for _, b in pairs}) == len(pairs)  # the same trades, one to one
    for file_trade, bulk_trade in pairs:
        assert _trade_fields(file_trade) == _trade_fields(bulk_trade)
        assert _written(file_trade) == _written(bulk_trade)
    assert_positions_equal_sum_of_trades()
    if file_rows[:3] == [{**GOOD_ROW, "external_ref": prefix + "R1"}] * 2 + [
            {**GOOD_ROW, "external_ref": prefix + "R1", "quantity": "7"}]:  # the explicit example
        assert [r["status"] for r in from_file] == ["created", "duplicate", "rejected", "rejected", "rejected",
                                                    "rejected", "created"]
