"""Trade files (docs/trade-files.md): upload, whole-file refusals, per-row outcomes, idempotency, reruns, roles."""

import csv
import io
import json

import pytest
from django.db import OperationalError

from backoffice.core.jobs.models import JobRun
from backoffice.core.jobs.services import job_rerun, job_run_execute
from records.audit.models import AuditRecord
from records.trades.files import services
from records.trades.files.models import TradeFile, TradeFileRow
from records.trades.models import Trade
from tests.conftest import APPLE, client_for, make_user
from tests.records.helpers_trades import assert_positions_equal_sum_of_trades

pytestmark = pytest.mark.django_db

URL = "/api/v1/trades/files/"
HEADER = ["external_ref", "account", "counterparty", "instrument", "side", "quantity", "price", "trade_date",
          "currency", "settlement_date", "commission"]


def row(ref="F-1", **overrides):
    values = {"external_ref": ref, "account": "ACC-001", "counterparty": "BRKR-A", "instrument": APPLE,
              "side": "BUY", "quantity": "100", "price": "189.25", "trade_date": "2026-11-20", "currency": "USD",
              "settlement_date": "", "commission": "5.00"}
    return {**values, **overrides}


def csv_text(rows, header=HEADER, delimiter=","):
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    for r in rows:
        writer.writerow([r.get(name, "") for name in header])
    return out.getvalue()


def upload(client, content, *, name="trades.csv", content_type="text/csv", raw=False):
    data = content.encode() if isinstance(content, str) else content
    if raw:
        return client.generic("POST", URL, data, content_type=content_type)
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(URL, {"file": SimpleUploadedFile(name, data, content_type=content_type)}, format="multipart")


def book(response):
    """Run the file's job here (the test has no worker) and return the file as the API shows it then."""
    assert response.status_code == 202, response.content
    job = job_run_execute(job_id=response.json()["id"])
    assert job.status == JobRun.Status.COMPLETED, job.error
    return job


def report(client, file_id, **params):
    response = client.get(f"{URL}{file_id}/report/", params)
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


# Upload and booking ------------------------------------------------------------------------------------

def test_a_csv_file_is_staged_booked_and_reported_row_by_row(fo_client, admin_client_api, refdata):
    def admin_job(job_id):
        return admin_client_api.get(f"/api/v1/jobs/{job_id}/").json()

    rows = [row("F-1"), row("F-2", side="SELL", quantity="40"), row("F-3", account="NOPE"),
            row("F-1"), row("F-1", quantity="7")]
    response = upload(fo_client, csv_text(rows))
    assert response.status_code == 202, response.content
    job_answer = response.json()
    assert (job_answer["kind"], job_answer["status"], job_answer["parameters"]) == (
        "trade-file", "QUEUED", {"file_id": job_answer["file"]["id"]})
    answer = job_answer["file"]
    assert answer["row_count"] == 5 and answer["status"] == "QUEUED" and answer["format"] == "csv"
    assert answer["columns"] == HEADER and len(answer["sha256"]) == 64 and answer["uploaded_by"] == "fo"
    assert AuditRecord.objects.filter(record_type="records.tradefile", action="CREATE").count() == 1
    job = book(response)
    summary = job.result[-1]
    assert {k: summary[k] for k in ("created", "duplicate", "rejected", "rows_total")} == {
        "created": 2, "duplicate": 1, "rejected": 2, "rows_total": 5}
    assert summary["report"] == f"{URL}{answer['id']}/report/" and summary["file_id"] == answer["id"]
    assert admin_job(job_answer["id"])["result"] == [summary]
    detail = fo_client.get(f"{URL}{answer['id']}/").json()
    assert (detail["status"], detail["created"], detail["duplicate"], detail["rejected"], detail["rows_done"]) == (
        "COMPLETED", 2, 1, 2, 5)
    lines = report(fo_client, answer["id"])
    first = Trade.objects.get(external_ref="F-1")
    assert [(r["line"], r["external_ref"], r["status"]) for r in lines] == [
        ("2", "F-1", "created"), ("3", "F-2", "created"), ("4", "F-3", "rejected"), ("5", "F-1", "duplicate"),
        ("6", "F-1", "rejected")]
    assert lines[0]["trade_id"] == lines[3]["trade_id"] == str(first.pk)
    assert json.loads(lines[2]["errors"]) == {"account": ["Unknown account 'NOPE'."]}
    assert json.loads(lines[4]["errors"]) == {
        "external_ref": ["external_ref 'F-1' was already used for a different trade."]}
    assert first.settlement_date.isoformat() == "2026-11-23" and first.commission == 5
    assert Trade.objects.count() == 2
    assert_positions_equal_sum_of_trades()
    rejected = report(fo_client, answer["id"], status="rejected")
    assert [r["line"] for r in rejected] == ["4", "6"]
    ndjson = fo_client.get(f"{URL}{answer['id']}/report/", {"format": "ndjson"})
    records = [json.loads(line) for line in b"".join(ndjson.streaming_content).decode().splitlines()]
    assert records[2] == {"line": 4, "external_ref": "F-3", "status": "rejected", "trade_id": None,
                          "errors": {"account": ["Unknown account 'NOPE'."]}}
    only = fo_client.get(f"{URL}{answer['id']}/report/", {"format": "ndjson", "status": "rejected"})
    assert [json.loads(line)["line"] for line in b"".join(only.streaming_content).decode().splitlines()] == [4, 6]
    assert fo_client.get(f"{URL}{answer['id']}/report/", {"status": "created"}).status_code == 400
    listed = fo_client.get(URL).json()
    assert [f["id"] for f in listed["results"]] == [answer["id"]]


def test_the_same_file_uploaded_twice_books_nothing_the_second_time(fo_client, refdata):
    content = csv_text([row(f"I-{n}", quantity=str(n + 1)) for n in range(20)])
    book(upload(fo_client, content))
    second = upload(fo_client, content)
    book(second)
    assert Trade.objects.count() == 20
    assert {r["status"] for r in report(fo_client, second.json()["file"]["id"])} == {"duplicate"}
    assert_positions_equal_sum_of_trades()


def test_an_ndjson_file_as_the_raw_body_with_lines_that_are_not_objects(fo_client, refdata):
    lines = [json.dumps({k: v for k, v in row("N-1").items() if v}), "[1, 2]", "{not json",
             json.dumps({**row("N-2"), "quantity": 100, "price": 189.25}), "",
             json.dumps(row("N-3", side="HOLD", settlement_date=None))]
    response = upload(fo_client, "\n".join(lines) + "\n", content_type="application/x-ndjson", raw=True)
    book(response)
    out = report(fo_client, response.json()["file"]["id"])
    assert [(r["line"], r["external_ref"], r["status"]) for r in out] == [
        ("1", "N-1", "created"), ("2", "", "rejected"), ("3", "", "rejected"), ("4", "N-2", "rejected"),
        ("6", "N-3", "rejected")]
    assert json.loads(out[1]["errors"]) == {"non_field_errors": ["Invalid data. Expected a dictionary."]}
    assert json.loads(out[2]["errors"])["non_field_errors"][0].startswith("JSON parse error - ")
    # Numbers read as the bulk endpoint reads them (189.25 exact); an empty string is no date.
    assert json.loads(out[3]["errors"]) == {"settlement_date": [
        "Date has wrong format. Use one of these formats instead: YYYY-MM-DD."]}
    assert json.loads(out[4]["errors"]) == {"side": ['"HOLD" is not a valid choice.']}


def test_a_truncated_last_line_and_ten_percent_bad_rows_leave_the_good_rows_booked_once(fo_client, refdata):
    rows = [row(f"T-{n}", quantity="x" if n % 10 == 3 else str(n + 1)) for n in range(50)]
    content = csv_text(rows) + "T-50,ACC-001,BRKR-A"  # cut short, no newline
    response = upload(fo_client, content)
    book(response)
    out = report(fo_client, response.json()["file"]["id"])
    assert len(out) == 51
    assert [r["status"] for r in out].count("rejected") == 6 and Trade.objects.count() == 45
    assert json.loads(out[-1]["errors"]) == {"non_field_errors": [
        "Line 52 has 3 fields where the header has 11 (a truncated line?)."]}
    assert json.loads(out[3]["errors"]) == {"quantity": ["A valid number is required."]}


def test_a_header_without_the_optional_columns_and_in_another_order(fo_client, refdata):
    header = ["trade_date", "price", "quantity", "side", "instrument", "counterparty", "account", "external_ref"]
    response = upload(fo_client, "\ufeff" + csv_text([row("O-1")], header=header).replace("\n", "\r\n"))
    book(response)
    trade = Trade.objects.get()
    assert (trade.external_ref, trade.currency, trade.commission, trade.quantity) == ("O-1", "USD", 0, 100)


# Whole-file refusals: a clear 400, nothing staged -----------------------------------------------------------

@pytest.mark.parametrize(("content", "message"), [
    ("", "The file is empty."),
    ("\n\n", "The file is empty."),
    (",".join(HEADER) + "\n", "The file has a header but no trades."),
    ("external_ref,acct,counterparty,instrument,side,quantity,price,trade_date,colour\nX,1,2,3,4,5,6,7,8\n",
     "Unknown columns: 'acct', 'colour'. Missing column: account. Expected columns: external_ref, account, "
     "counterparty, instrument, side, quantity, price, trade_date, and optionally currency, settlement_date, "
     "commission."),
    (";".join(HEADER) + "\nX;ACC-001\n", "The header is separated by semicolons (';'): separate the fields with "
                                         "commas."),
    ("\t".join(HEADER) + "\n", "The header is separated by tabs ('\\t'): separate the fields with commas."),
    (",".join([*HEADER, "price"]) + "\n", "Repeated column: price."),
])
def test_a_file_with_a_bad_shape_is_refused_whole(fo_client, refdata, content, message):
    response = upload(fo_client, content)
    assert response.status_code == 400, response.content
    assert response.json()["file"][0].startswith(message)
    assert not TradeFile.objects.exists() and not TradeFileRow.objects.exists() and not JobRun.objects.exists()


def test_a_file_that_is_not_utf8_is_refused_naming_the_byte_and_line(fo_client, refdata):
    content = csv_text([row("U-1"), row("U-2", account="CAFÉ")]).encode("latin-1")
    response = upload(fo_client, content)
    assert response.status_code == 400
    assert response.json() == {"file": ["The file is not UTF-8: byte 0xC9 at line 3, column 8. Save it as UTF-8."]}
    assert not TradeFileRow.objects.exists()
    long_line = upload(fo_client, csv_text([row("U-1")]) + "x" * (3 << 20), content_type="text/csv", raw=True)
    assert long_line.json() == {"file": [
        "Line 3 is longer than 1,048,576 bytes: this is not a trade file (one trade a line)."]}
    nul = upload(fo_client, csv_text([row("U-1", account="A\x00B")]))
    assert nul.status_code == 400 and "NUL" in nul.json()["file"][0]


def test_an_upload_without_a_file_or_of_another_type_is_a_400(fo_client, refdata):
    assert fo_client.post(URL, {}, format="multipart").json() == {"file": [
        "Send the trade file in the multipart field `file`, or as the raw body (text/csv or application/x-ndjson)."]}
    other = upload(fo_client, "x", name="trades.xlsx", content_type="application/octet-stream")
    assert other.status_code == 400 and "CSV" in other.json()["file"][0]
    assert upload(fo_client, "", content_type="text/csv", raw=True).status_code == 400
    assert fo_client.post(URL, {"trades": []}, format="json").status_code == 415


# Roles --------------------------------------------------------------------------------------------------

def test_roles(anon_client, fo_client, ops_client, compliance_client, accounting_client, refdata):
    content = csv_text([row("R-1")])
    assert upload(anon_client, content).status_code == 401
    assert upload(compliance_client, content).status_code == 403
    assert upload(accounting_client, content).status_code == 403
    response = upload(ops_client, content)
    assert response.status_code == 202
    file_id = response.json()["file"]["id"]
    for path in (URL, f"{URL}{file_id}/", f"{URL}{file_id}/report/"):
        assert anon_client.get(path).status_code == 401
        assert compliance_client.get(path).status_code == 403
        assert fo_client.get(path).status_code == 200
    assert fo_client.get(f"{URL}999999/").status_code == 404
    assert fo_client.get(f"{URL}{file_id}/report/", {"format": "xml"}).status_code == 400
    root = client_for(make_user("root2", superuser=True))
    assert upload(root, csv_text([row("R-2")])).status_code == 202


# Chunks: atomic, in line order, rerun continues ---------------------------------------------------------------

def test_a_chunk_failing_midway_then_continued_is_one_uninterrupted_run(fo_client, refdata, monkeypatch):
    monkeypatch.setattr(services, "CHUNK_ROWS", 4)
    rows = [row(f"C-{n % 7}", quantity=str(n % 7 + 1)) if n % 5 else row(f"C-{n}", account="NOPE")
            for n in range(18)]
    response = upload(fo_client, csv_text(rows))
    job_id = response.json()["id"]
    real = services.booking_sql.book_chunk
    calls = []

    def flaky(**kwargs):
        calls.append(1)
        if len(calls) == 3:
            real(**kwargs)  # booked, then the worker dies before the chunk commits
            raise OperationalError("worker lost")
        return real(**kwargs)

    monkeypatch.setattr(services.booking_sql, "book_chunk", flaky)
    with pytest.raises(OperationalError):
        job_run_execute(job_id=job_id)
    assert TradeFile.objects.get().rows_done == 8
    assert TradeFileRow.objects.filter(outcome__isnull=False).count() == 8
    job = job_run_execute(job_id=job_id)
    assert job.status == "COMPLETED"
    interrupted = [(r["line"], r["status"], r["errors"]) for r in report(fo_client, response.json()["file"]["id"])]
    booked = sorted(Trade.objects.values_list("external_ref", "quantity"))

    # The same file, uninterrupted, by another submitter: the same outcomes and trades.
    other = client_for(make_user("fo2", "front_office"))
    again = upload(other, csv_text(rows))
    book(again)
    assert [(r["line"], r["status"], r["errors"]) for r in report(other, again.json()["file"]["id"])] == interrupted
    assert sorted(Trade.objects.filter(submitted_by__username="fo2").values_list("external_ref", "quantity")) \
        == booked
    assert_positions_equal_sum_of_trades()


def test_a_failed_run_rerun_books_only_the_rows_left(fo_client, front_office_user, refdata, monkeypatch):
    monkeypatch.setattr(services, "CHUNK_ROWS", 3)
    response = upload(fo_client, csv_text([row(f"X-{n}") for n in range(7)]))
    real = services.booking_sql.book_chunk
    calls = []

    def failing(**kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("bad luck")
        return real(**kwargs)

    monkeypatch.setattr(services.booking_sql, "book_chunk", failing)
    job = job_run_execute(job_id=response.json()["id"])
    assert job.status == "FAILED" and Trade.objects.count() == 3
    assert fo_client.get(f"{URL}{response.json()['file']['id']}/").json()["status"] == "FAILED"
    rerun = job_rerun(job_id=job.pk, started_by=front_office_user)
    assert job_run_execute(job_id=rerun.pk).status == "COMPLETED"
    detail = fo_client.get(f"{URL}{response.json()['file']['id']}/").json()
    assert (detail["status"], detail["created"], detail["job"]["id"]) == ("COMPLETED", 7, rerun.pk)
    assert Trade.objects.count() == 7


def test_a_multipart_body_whose_parts_cannot_be_read_is_refused_as_json_and_stages_nothing(fo_client):
    """What schemathesis sent once: a multipart body with a boundary but no readable part headers."""
    from records.trades.files.models import TradeFile

    body = "--32aaed4b\r\ns\u00b12P\u00ef--32aaed4b--\r\n".encode()
    response = fo_client.generic("POST", "/api/v1/trades/files/", body,
                                 content_type="multipart/form-data; boundary=32aaed4b")
    # Django's parser refuses it (400 under `file`); a transport that drops the part's headers meets DRF's 415.
    assert response.status_code == 400
    assert list(response.json()) == ["file"]
    assert not TradeFile.objects.exists()
