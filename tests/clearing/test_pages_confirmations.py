# ruff: noqa: F811 - the fixtures imported from helpers_matching are parameters of the tests
"""The dashboard pages of matching: confirmations, the CSV upload, the breaks queue, a break and its
resolution, Match now, and the admin of tolerances."""

from datetime import timedelta

import lxml.html
import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from backoffice.core.jobs.models import JobRun
from clearing.models import Confirmation, MatchTolerance
from records.approvals.models import ChangeRequest
from records.audit.models import AuditRecord
from tests.clearing.helpers_matching import firm  # noqa: F401
from tests.pages import nav_links, table_rows

pytestmark = pytest.mark.django_db

HEADER = "counterparty,counterparty_ref,account,instrument,side,quantity,price,trade_date,settlement_date,trade_ref\n"


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def doc(response):
    return lxml.html.fromstring(response.content.decode())


def flash(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def upload(client, text: str | bytes, name="broker-a.csv"):
    content = text.encode() if isinstance(text, str) else text
    return client.post("/clearing/confirmations/upload/", {"file": SimpleUploadedFile(name, content, "text/csv")})


# Confirmations ---------------------------------------------------------------------------------------

def test_the_confirmations_page_lists_them_newest_first_with_counts_per_status(firm):
    trade = firm.trade("OMS-1")
    matched = firm.mirror_of(trade, "C-1")
    odd = firm.confirm("C-2", quantity="7")
    response = signed_in(firm.clerk).get("/clearing/confirmations/")
    rows = table_rows(response, "confirmations")
    assert [(row[0], row[2], row[10], row[11], row[12]) for row in rows] == [
        (str(odd.pk), "C-2", "Unmatched", "–", "–"),
        (str(matched.pk), "C-1", "Matched", str(trade.pk), "–")]
    counts = {el.get("data-total"): " ".join(el.text_content().split())
              for el in doc(response).xpath('//*[@id="confirmation-totals"]//*[@data-total]')}
    assert counts == {"UNMATCHED": "Unmatched 1", "MATCHED": "Matched 1", "MISMATCHED": "Mismatched 0",
                      "REJECTED": "Rejected 0"}


def test_the_confirmations_page_filters_and_says_when_nothing_matches(firm):
    firm.confirm("C-1")
    client = signed_in(firm.clerk)
    assert table_rows(client.get("/clearing/confirmations/?match_status=MATCHED"), "confirmations") == []
    response = client.get("/clearing/confirmations/?counterparty=NOBODY")
    assert table_rows(response, "confirmations") == []
    page = doc(response)
    assert page.xpath('//table[@id="confirmations"]//td[@class="empty"]/text()') == [
        "No confirmations match these filters."]
    assert page.xpath('//div[@class="field-error"]/text()') == ["No counterparty 'NOBODY'."]
    assert len(table_rows(client.get("/clearing/confirmations/?counterparty_ref=C-*"), "confirmations")) == 1


def test_with_no_confirmation_the_page_says_how_they_arrive(firm):
    page = doc(signed_in(firm.clerk).get("/clearing/confirmations/"))
    assert page.xpath('//td[@class="empty"]/text()') == [
        "No confirmations received yet: counterparties send them through the API, or upload their file."]


def test_the_pages_are_for_operations_compliance_and_accounting(firm, compliance_user, accounting_user):
    assert signed_in(firm.oms).get("/clearing/confirmations/").status_code == 403
    assert signed_in(firm.oms).get("/clearing/breaks/").status_code == 403
    for user in (firm.clerk, compliance_user, accounting_user):
        assert signed_in(user).get("/clearing/breaks/").status_code == 200
    links = {label: href for label, href, _active in nav_links(signed_in(firm.clerk).get("/clearing/breaks/"))}
    assert (links["Confirmations"], links["Breaks"]) == ("/clearing/confirmations/", "/clearing/breaks/")


# Upload ------------------------------------------------------------------------------------------------

def test_an_upload_stores_the_good_rows_reports_every_bad_one_and_offers_the_results_as_csv(firm):
    trade = firm.trade("OMS-1")
    client = signed_in(firm.clerk)
    response = upload(client, HEADER
                      + "BRKR-A,U-1,ACC-001,US0378331005,SELL,100,189.25,2026-11-20,2026-11-23,OMS-1\n"
                      + "BRKR-A,U-2,ACC-001,US0378331005,SELL,100,101.12999999999999545,2026-11-20,2026-11-23,\n"
                      + "\n"
                      + "BRKR-A,U-3,NOPE,US0378331005,SELL,5,189.25,2026-11-20,2026-11-23,\n"
                      + "BRKR-A,U-4,ACC-001,US0378331005,SELL,5,189.25,2026-11-20\n"
                      + "BRKR-A,U-5,ACC-001,US0378331005,SELL,5,189.25,2026-11-20,2026-11-23,,extra\n"
                      + "BRKR-A,U-6,ACC-001,US0378331005,SELL,7,189.25,2026-11-20,2026-11-23,\n")
    assert response.status_code == 200
    u1, u6 = Confirmation.objects.get(counterparty_ref="U-1"), Confirmation.objects.get(counterparty_ref="U-6")
    assert table_rows(response, "upload-results") == [
        ["2", "BRKR-A", "U-1", "created", str(u1.pk), "Matched", str(trade.pk), ""],
        ["3", "BRKR-A", "U-2", "rejected", "", "", "", "price: Ensure that there are no more than 8 decimal places."],
        ["5", "BRKR-A", "U-3", "rejected", "", "", "", "account: Unknown account 'NOPE'."],
        ["6", "BRKR-A", "U-4", "rejected", "", "", "", "settlement_date: This field is required."],
        ["7", "BRKR-A", "U-5", "rejected", "", "", "", "1 more cell than the header has columns."],
        ["8", "BRKR-A", "U-6", "created", str(u6.pk), "Unmatched", "", ""],
    ]
    assert set(Confirmation.objects.values_list("counterparty_ref", "source")) == {("U-1", "UPLOAD"),
                                                                                   ("U-6", "UPLOAD")}
    csv = client.get("/clearing/confirmations/upload/results.csv")
    assert csv["Content-Disposition"] == 'attachment; filename="broker-a-results.csv"'
    lines = csv.content.decode().splitlines()
    assert lines[0] == "line,counterparty,counterparty_ref,status,confirmation,match_status,trade,errors"
    assert lines[1] == f"2,BRKR-A,U-1,created,{u1.pk},MATCHED,{trade.pk},"
    assert lines[2] == "3,BRKR-A,U-2,rejected,,,,price: Ensure that there are no more than 8 decimal places."
    # The same file again: every good row is a duplicate, nothing new.
    again = upload(client, HEADER + "BRKR-A,U-1,ACC-001,US0378331005,SELL,100,189.25,2026-11-20,2026-11-23,OMS-1\n")
    assert table_rows(again, "upload-results")[0][3] == "duplicate"
    assert Confirmation.objects.count() == 2


@pytest.mark.parametrize(("content", "message"), [
    (b"\xff\xfe not text", "The file is not UTF-8 text: save it as CSV (UTF-8)."),
    (b"", "The submitted file is empty."),
    (b"counterparty,counterparty_ref\nBRKR-A,X\n", "Missing columns: account, instrument, side, quantity, price, "
     "trade_date, settlement_date. The first line must name the columns: counterparty, counterparty_ref, account, "
     "instrument, side, quantity, price, trade_date, settlement_date, trade_ref (trade_ref optional)."),
    (HEADER.encode(), "The file has a header but no rows."),
])
def test_a_file_that_is_not_a_confirmations_csv_is_refused_on_the_form(firm, content, message):
    response = upload(signed_in(firm.clerk), content)
    assert response.status_code == 400
    assert doc(response).xpath('//form[@id="upload-form"]//div[@class="field-error"]/text()') == [message]
    assert not Confirmation.objects.exists()


def test_uploads_are_for_front_office_and_operations(firm, compliance_user):
    assert signed_in(compliance_user).get("/clearing/confirmations/upload/").status_code == 403
    assert signed_in(firm.oms).get("/clearing/confirmations/upload/").status_code == 200
    assert signed_in(firm.oms).get("/clearing/confirmations/upload/results.csv").status_code == 404


# Breaks ------------------------------------------------------------------------------------------------

def test_the_breaks_queue_lists_open_confirmations_oldest_first_with_their_age(firm):
    trade = firm.trade("OMS-1", quantity="110")
    firm.confirm("C-1")
    unmatched = firm.confirm("C-2", account="HOUSE")
    firm.mirror_of(firm.trade("OMS-2", instrument="US5949181045"), "C-3")  # matched: not a break
    Confirmation.objects.filter(pk=unmatched.pk).update(received_at=timezone.now() - timedelta(days=4))
    response = signed_in(firm.clerk).get("/clearing/breaks/")
    rows = table_rows(response, "breaks")
    assert [(row[0], row[1], row[3], row[10], row[11]) for row in rows] == [
        ("4", "Unmatched", "C-2", "none", "no trade found"),
        ("0", "Mismatched", "C-1", str(trade.pk), "quantity")]
    totals = {el.get("data-total"): " ".join(el.text_content().split())
              for el in doc(response).xpath('//*[@id="break-totals"]//*[@data-total]')}
    assert totals == {"count": "2 open breaks", "MISMATCHED": "Mismatched 1", "UNMATCHED": "Unmatched 1",
                      "oldest": "oldest 4 days", "by-counterparty": "BRKR-A 2"}
    assert [row[3] for row in table_rows(signed_in(firm.clerk).get("/clearing/breaks/?min_age_days=2"), "breaks")] \
        == ["C-2"]
    assert [row[3] for row in table_rows(signed_in(firm.clerk).get("/clearing/breaks/?match_status=MISMATCHED"),
                                         "breaks")] == ["C-1"]


def test_a_break_shows_both_sides_field_by_field_with_the_differences_highlighted(firm):
    trade = firm.trade("OMS-1", quantity="110", price="189.25")
    confirmation = firm.confirm("C-1", quantity="100", price="189.26")
    page = doc(signed_in(firm.clerk).get(f"/clearing/breaks/{confirmation.pk}/"))
    rows = {tr.get("data-field"): (tr.get("class"), [" ".join(td.text_content().split()) for td in tr.xpath("./td")])
            for tr in page.xpath('//table[@id="compare"]/tbody/tr')}
    assert rows == {
        "account": ("", ["ACC-001 Client One", "ACC-001 Client One", "agrees"]),
        "instrument": ("", ["AAPL US0378331005", "AAPL US0378331005", "agrees"]),
        "side": ("", ["Buy", "Sell", "agrees (their sell confirms our buy)"]),
        "quantity": ("differs", ["110", "100", "differs"]),
        "price": ("", ["189.25", "189.26", "agrees (within the tolerance)"]),
        "trade_date": ("", ["2026-11-20", "2026-11-20", "agrees"]),
        "settlement_date": ("", ["2026-11-23", "2026-11-23", "agrees"]),
    }
    ours = " ".join(page.xpath('//table[@id="compare"]//th')[1].text_content().split())
    assert ours.startswith(f"Our trade #{trade.pk} · OMS-1")
    assert page.xpath('//select[@name="force-trade"]/option[@selected]/@value') == [str(trade.pk)]


def test_rejecting_a_break_from_its_page_needs_a_reason_and_closes_it(firm):
    confirmation = firm.confirm("C-1")
    client = signed_in(firm.clerk)
    url = f"/clearing/breaks/{confirmation.pk}/resolve/"
    refused = client.post(url, {"action": "reject", "reject-reason": ""})
    assert refused.status_code == 400
    assert doc(refused).xpath('//form[@id="reject-form"]//div[@class="field-error"]/text()') == [
        "This field is required."]
    done = client.post(url, {"action": "reject", "reject-reason": "not our trade"})
    assert done.status_code == 302 and done["Location"] == "/clearing/breaks/"
    assert flash(done) == ["Confirmation BRKR-A C-1 rejected."]
    confirmation.refresh_from_db()
    assert (confirmation.match_status, confirmation.resolution_reason) == ("REJECTED", "not our trade")
    again = client.post(url, {"action": "request_new", "renew-reason": "again"}, follow=True)
    assert flash(again)[-1:] == [f"Confirmation {confirmation.pk} is rejected: only an unmatched or mismatched one can "
                            "be resolved."]


def test_force_matching_from_the_page_proposes_the_change_for_another_user(firm):
    trade = firm.trade("OMS-1", quantity="110")
    confirmation = firm.confirm("C-1")
    client = signed_in(firm.clerk)
    response = client.post(f"/clearing/breaks/{confirmation.pk}/resolve/", {
        "action": "force_match", "force-trade": str(trade.pk), "force-reason": "phoned the broker"})
    change = ChangeRequest.objects.get()
    assert flash(response) == [f"Force-match of confirmation BRKR-A C-1 proposed as change #{change.pk}: it is "
                               "matched once another operations user approves it."]
    page = doc(client.get(f"/clearing/breaks/{confirmation.pk}/"))
    assert "awaiting" not in page.xpath('string(//*[@id="pending-force-match"])')
    assert f"as change #{change.pk} by clerk" in page.xpath('string(//*[@id="pending-force-match"])')
    assert page.xpath('//form[@id="force-match-form"]') == []  # not twice
    # Another trade id typed in, unknown: shown on the form, nothing proposed.
    other = firm.confirm("C-2", quantity="5")
    refused = client.post(f"/clearing/breaks/{other.pk}/resolve/", {
        "action": "force_match", "force-other_trade": "987654", "force-reason": "x"})
    assert refused.status_code == 400
    assert doc(refused).xpath('//form[@id="force-match-form"]//div[@class="field-error"]/text()') == [
        "Unknown trade 987654."]
    assert ChangeRequest.objects.count() == 1


def test_readers_see_a_break_but_only_operations_resolve_it(firm, compliance_user):
    confirmation = firm.confirm("C-1")
    client = signed_in(compliance_user)
    page = doc(client.get(f"/clearing/breaks/{confirmation.pk}/"))
    assert page.xpath('//section[@id="resolve"]') == []
    assert client.post(f"/clearing/breaks/{confirmation.pk}/resolve/", {
        "action": "reject", "reject-reason": "x"}).status_code == 403
    assert Confirmation.objects.get(pk=confirmation.pk).match_status == "UNMATCHED"


def test_match_now_starts_the_matching_job(firm):
    response = signed_in(firm.clerk).post("/clearing/confirmations/match/", {"next": "/clearing/breaks/"})
    job = JobRun.objects.get(kind="clearing-match")
    assert (response.status_code, response["Location"]) == (302, "/clearing/breaks/")
    assert flash(response) == [f"Matching queued as job {job.pk}: open confirmations are matched again when a worker "
                               "has run it (see Batch jobs)."]
    assert signed_in(firm.oms).post("/clearing/confirmations/match/").status_code == 403


# Admin ---------------------------------------------------------------------------------------------------

def test_a_tolerance_changed_in_the_admin_is_saved_through_its_service_and_audited(firm, superuser):
    tolerance = MatchTolerance.objects.get(asset_class="CORP_BOND")
    client = signed_in(superuser)
    url = f"/admin/clearing/matchtolerance/{tolerance.pk}/change/"
    refused = client.post(url, {"price_tolerance_bps": "-1", "reason": "x"})
    assert refused.status_code == 200 and MatchTolerance.objects.get(pk=tolerance.pk).price_tolerance_bps == 1
    response = client.post(url, {"price_tolerance_bps": "2.5", "reason": "bonds quoted to 1/128"})
    assert response.status_code == 302
    record = AuditRecord.objects.get(record_type="clearing.matchtolerance", record_id=str(tolerance.pk))
    assert (record.before["price_tolerance_bps"], record.after["price_tolerance_bps"], record.reason,
            record.actor_label) == ("1", "2.5", "bonds quoted to 1/128", "root")
    assert client.get("/admin/clearing/confirmation/").status_code == 200
    assert client.get("/admin/clearing/confirmation/add/").status_code == 403
