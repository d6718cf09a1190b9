"""The Trade files page: upload, the files with their counts, a file's rejected rows, the report; login and role."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from backoffice.core.jobs.services import job_run_execute
from records.trades.files.models import TradeFile
from tests.conftest import make_user
from tests.pages import table_rows
from tests.records.test_api_trade_files import csv_text, row

pytestmark = pytest.mark.django_db
PAGE = "/records/trades/files/"


def _upload(client, content, name="day.csv"):
    return client.post("/records/trades/files/upload/",
                       {"file": SimpleUploadedFile(name, content.encode(), content_type="text/csv")})


def test_upload_book_and_read_the_rejected_rows(signed_in, refdata):
    response = _upload(signed_in, csv_text([row("P-1"), row("P-2", account="NOPE"), row("P-3", quantity="1,5")]))
    file = TradeFile.objects.get()
    assert response.status_code == 302 and response["Location"] == f"{PAGE}?file={file.pk}"
    page = signed_in.get(response["Location"]).content.decode()
    assert "3 rows staged; booking them is queued." in page
    job_run_execute(job_id=file.job_id)
    response = signed_in.get(f"{PAGE}?file={file.pk}")
    assert "3 of 3 rows" in " ".join(response.content.decode().split())
    rejected = table_rows(response, "rejected-rows")
    assert rejected == [["3", "P-2", "account: Unknown account 'NOPE'."],
                        ["4", "P-3", "quantity: A valid number is required."]]
    files = table_rows(response, "trade-files")
    assert files[0] == [f"day.csv #{file.pk}", files[0][1], "Completed", "3", "100%", "1", "0", "2", "CSV"]
    report = signed_in.get(f"/records/trades/files/{file.pk}/report.csv")
    lines = b"".join(report.streaming_content).decode().splitlines()
    assert lines[0] == "line,external_ref,status,trade_id,errors" and len(lines) == 4


def test_a_refused_file_shows_why_on_the_form_and_stages_nothing(signed_in, refdata):
    page = _upload(signed_in, "external_ref;account\nX;Y\n").content.decode()
    assert "The header is separated by semicolons" in page
    assert not TradeFile.objects.exists()


def test_the_page_needs_login_and_the_role(client, refdata):
    assert client.get(PAGE).status_code == 302
    client.force_login(make_user("acct-files", "accounting"))
    assert client.get(PAGE).status_code == 403
    assert _upload(client, csv_text([row()])).status_code == 403
    client.force_login(make_user("fo-files", "front_office"))
    page = client.get(PAGE)
    assert page.status_code == 200 and "No trade files yet" in page.content.decode()
