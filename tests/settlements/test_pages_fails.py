# ruff: noqa: F811 - the fixtures imported from helpers_fails are parameters of the tests
"""The fails pages: fails open on a date (figures, aging by bucket and counterparty with their charts, penalties per
currency, Reg SHO close-outs due and overdue, the table with filters and totals), accruing a day's penalties, a
fail with its penalties day by day and its Reg SHO basis; roles; one empty-state message per table."""

from datetime import date

import lxml.html
import pytest
from django.db import transaction

from backoffice.core.jobs.models import JobRun
from settlements.fails import services
from settlements.models import SettlementFail
from tests.conftest import make_user
from tests.pages import figures, nav_links, table_rows
from tests.settlements.helpers_fails import EU_SETTLES, US_SETTLES, desk  # noqa: F401

pytestmark = pytest.mark.django_db

AS_OF = date(2026, 11, 27)  # Friday after Thanksgiving: US fails of the 23rd are 3 settlement days old


@pytest.fixture
def clerk(client, desk):
    client.force_login(desk.ops)
    return client


@pytest.fixture
def book(desk):
    aapl = desk.fail(symbol="AAPL", side="SELL", quantity="100")  # 23 Nov, long: close out by 27 Nov
    msft = desk.fail(symbol="MSFT", side="BUY", quantity="10", price="415.10", cause="CASH", account="HOUSE",
                     counterparty="BRKR-B")
    sap = desk.fail(symbol="SAP", side="SELL", quantity="50", price="187.36", cause="COUNTERPARTY")
    short = desk.fail(symbol="AAPL", side="SELL", quantity="7", failed_on=date(2026, 11, 20),
                      settlement_date=date(2026, 11, 20), trade_date=date(2026, 11, 19))
    desk.price("AAPL", date(2026, 11, 20), "189.25")
    desk.price("MSFT", US_SETTLES, "420")
    desk.price("SAP", EU_SETTLES, "190")
    for day in (date(2026, 11, 20), US_SETTLES, EU_SETTLES, date(2026, 11, 25), date(2026, 11, 26)):
        with transaction.atomic():
            services.fail_regsho_fill(as_of=day, actor="test")
            services.fail_penalties_accrue(penalty_date=day, actor="test")
    with transaction.atomic():
        services.fail_regsho_basis_set(actor="test", fail_id=short.pk, basis="SHORT", reason="short sale")
    return {"aapl": aapl, "msft": msft, "sap": sap, "short": short}


def text(response, xpath: str) -> str:
    doc = lxml.html.fromstring(response.content.decode())
    return " ".join(" ".join(el.text_content().split()) for el in doc.xpath(xpath))


def test_the_fails_page_lists_the_fails_open_on_the_date_oldest_first(clerk, book):
    response = clerk.get("/settlements/fails/", {"as_of": "2026-11-27"})

    rows = table_rows(response, "fail-table")
    assert [row[0] for row in rows] == [str(book[name].pk) for name in ("short", "aapl", "msft", "sap")]
    short, aapl, msft, sap = rows
    assert aapl[2:] == ["ACC-001", "BRKR-A", "AAPL US0378331005", "Deliver", "Lack of securities", "2026-11-23", "3",
                        "100", "18,925.00 USD", "5.67", "Long", "Fri 2026-11-27 due"]
    # sold short on the 19th, settling the 20th: close out by the 23rd, overdue since
    assert short[7:] == ["2026-11-20", "4", "7", "1,324.75 USD", "0.52", "Short", "Mon 2026-11-23 overdue"]
    assert msft[2:12] == ["HOUSE", "BRKR-B", "MSFT US5949181045", "Receive", "Lack of cash", "2026-11-23", "3",
                          "10", "4,200.00 USD", "0.81"]
    assert (msft[12], msft[13]) == ("—", "—")
    assert sap[8:12] == ["3", "50", "9,500.00 EUR", "1.86"]  # T2S open on Thanksgiving: three days old
    assert table_rows(response, "fail-table", section="tfoot") == [
        ["1 fail in EUR", "", "9,500.00 EUR", "1.86", ""],
        ["3 fails in USD", "", "24,449.75 USD", "7.00", ""]]
    doc = lxml.html.fromstring(response.content.decode())
    assert doc.xpath('//table[@id="fail-table"]/tbody/tr[1]/@class') == ["deadline-overdue"]
    assert doc.xpath('//table[@id="fail-table"]/tbody/tr[2]/@class') == ["deadline-due"]
    assert ("Fails", "/settlements/fails/", True) in nav_links(response)


def test_the_figures_aging_counterparties_and_charts(clerk, book):
    response = clerk.get("/settlements/fails/", {"as_of": "2026-11-27"})

    assert figures(response) == {"open-fails": "4", "regsho-overdue": "1", "regsho-due": "1",
                                 "penalties-EUR": "0.00", "penalties-USD": "7.00"}
    assert table_rows(response, "buckets") == [
        ["0–1", "0", "—"], ["2–3", "3", "9,500.00 EUR 23,125.00 USD"], ["4–5", "1", "1,324.75 USD"],
        ["6–10", "0", "—"], [">10", "0", "—"]]
    assert table_rows(response, "buckets", section="tfoot") == [["All", "4", "9,500.00 EUR 24,449.75 USD"]]
    assert table_rows(response, "counterparties") == [
        ["BRKR-A", "3", "9,500.00 EUR 20,249.75 USD", "2026-11-20"], ["BRKR-B", "1", "4,200.00 USD", "2026-11-23"]]
    doc = lxml.html.fromstring(response.content.decode())
    assert [(g.get("data-label"), g.get("data-count")) for g in doc.xpath('//svg[@id="chart-buckets"]/g')] == [
        ("0–1 days", "0"), ("2–3 days", "3"), ("4–5 days", "1"), ("6–10 days", "0"), (">10 days", "0")]
    widths = [int(rect.get("width")) for rect in doc.xpath('//svg[@id="chart-buckets"]//rect')]
    assert widths == [250, 83]  # 3 fails the longest bar, 1 fail a third of it; no bar for none
    assert [(g.get("data-label"), g.get("data-count")) for g in doc.xpath('//svg[@id="chart-counterparties"]/g')] == [
        ("BRKR-A", "3"), ("BRKR-B", "1")]
    assert not doc.xpath("//script[contains(@src, 'http')]") and not doc.xpath("//link[contains(@href, 'http')]")


def test_penalties_per_currency_for_the_month_payable_and_receivable(clerk, book):
    response = clerk.get("/settlements/fails/", {"as_of": "2026-11-27"})

    # USD: AAPL 1.89 x 3 (23, 24, 25: DTC shut on the 26th), MSFT 0.27 x 3, the short sale 0.13 x 4; EUR: SAP's
    # counterparty did not pay: 0.62 a day on the 24th, 25th and 26th, which we receive. Nothing yet on the 27th.
    assert table_rows(response, "penalty-summary") == [
        ["EUR", "1", "0.00", "0.00", "0.00", "1.86", "1.86"],
        ["USD", "3", "0.00", "0.00", "7.00", "0.00", "-7.00"]]
    on_the_26th = clerk.get("/settlements/fails/", {"as_of": "2026-11-26"})
    assert table_rows(on_the_26th, "penalty-summary")[0][:4] == ["EUR", "1", "0.00", "0.62"]


def test_the_close_outs_due_or_overdue_most_overdue_first(clerk, book):
    response = clerk.get("/settlements/fails/", {"as_of": "2026-11-27"})

    assert table_rows(response, "close-out-table") == [
        [str(book["short"].pk), "AAPL", "ACC-001", "7", "Short", "Mon 2026-11-23 overdue"],
        [str(book["aapl"].pk), "AAPL", "ACC-001", "100", "Long", "Fri 2026-11-27 due"]]
    assert table_rows(clerk.get("/settlements/fails/", {"as_of": "2026-11-20"}), "close-out-table") == []


def test_filters_narrow_the_table_and_keep_the_figures_of_every_age(clerk, book):
    by_bucket = clerk.get("/settlements/fails/", {"as_of": "2026-11-27", "age_bucket": "4-5"})
    assert [row[0] for row in table_rows(by_bucket, "fail-table")] == [str(book["short"].pk)]
    assert figures(by_bucket)["open-fails"] == "4"

    by_account = clerk.get("/settlements/fails/", {"as_of": "2026-11-27", "account": "HOUSE"})
    assert [row[0] for row in table_rows(by_account, "fail-table")] == [str(book["msft"].pk)]
    assert figures(by_account)["open-fails"] == "1"

    overdue = clerk.get("/settlements/fails/", {"as_of": "2026-11-27", "regsho": "overdue"})
    assert [row[0] for row in table_rows(overdue, "fail-table")] == [str(book["short"].pk)]

    by_symbol = clerk.get("/settlements/fails/", {"as_of": "2026-11-27", "instrument": "SAP"})
    assert [row[0] for row in table_rows(by_symbol, "fail-table")] == [str(book["sap"].pk)]


def test_a_filter_naming_nothing_shows_the_error_and_no_fails(clerk, book):
    response = clerk.get("/settlements/fails/", {"as_of": "2026-11-27", "account": "NOBODY"})

    assert table_rows(response, "fail-table") == []
    assert text(response, '//table[@id="fail-table"]//td[@class="empty"]') == (
        "No open fails match these filters on 2026-11-27.")
    assert "No account 'NOBODY'." in text(response, '//div[@class="field-error"]')


def test_without_fails_each_table_says_so_once(clerk, desk):
    response = clerk.get("/settlements/fails/", {"as_of": "2026-11-27"})

    assert text(response, '//table[@id="fail-table"]//td[@class="empty"]') == (
        "No fails open on 2026-11-27: every instruction due by then settled.")
    assert text(response, '//table[@id="close-out-table"]//td[@class="empty"]') == (
        "No Reg SHO close-out is due or overdue on 2026-11-27.")
    assert text(response, '//table[@id="penalty-summary"]//td[@class="empty"]').startswith(
        "No penalties accrued in November 2026 up to 27 Nov")
    assert text(response, '//section[@id="by-counterparty"]//p[@class="empty-note"]') == (
        "No open fails on 2026-11-27.")
    assert response.content.decode().count('class="empty') == 4


def test_operations_accrue_a_days_penalties_from_the_page(clerk, book, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = clerk.post("/settlements/fails/penalties/", {"date": "2026-11-27"}, follow=True)

    job = JobRun.objects.get(kind="fail-penalties")
    assert job.status == "COMPLETED"
    assert response.redirect_chain == [("/settlements/fails/?as_of=2026-11-27", 302)]
    assert text(response, '//ul[@class="messages"]') == (
        f"Penalties of 2026-11-27 queued as job {job.pk}: each fail open that day is penalised once, however often "
        "the day is run.")
    assert book["aapl"].penalties.filter(penalty_date=date(2026, 11, 27)).exists()


def test_a_day_that_is_not_over_is_refused_on_the_form(clerk, book):
    from django.utils import timezone

    response = clerk.post("/settlements/fails/penalties/", {"date": timezone.localdate().isoformat()})

    assert response.status_code == 400
    assert "is not over yet" in text(response, '//form[@class="run-start-form"]//div[@class="field-error"]')
    assert not JobRun.objects.exists()


def test_readers_without_operations_see_no_forms_and_cannot_post(client, book):
    client.force_login(make_user("compliance-reader", "compliance"))
    response = client.get("/settlements/fails/", {"as_of": "2026-11-27"})
    assert response.status_code == 200
    assert b'id="accrue-penalties"' not in response.content
    assert client.post("/settlements/fails/penalties/", {"date": "2026-11-27"}).status_code == 403
    detail = client.get(f"/settlements/fails/{book['aapl'].pk}/")
    assert b'id="regsho"' not in detail.content
    assert client.post(f"/settlements/fails/{book['aapl'].pk}/regsho/",
                       {"regsho_basis": "SHORT", "reason": "x"}).status_code == 403
    client.force_login(make_user("trader", "front_office"))
    assert client.get("/settlements/fails/").status_code == 403


def test_a_fail_with_its_penalties_day_by_day(clerk, book):
    response = clerk.get(f"/settlements/fails/{book['aapl'].pk}/", {"as_of": "2026-11-27"})

    assert response.status_code == 200
    assert table_rows(response, "penalty-days") == [
        ["Mon 2026-11-23", "100", "189.25", "18,925.00", "1 bp", "1.89", "1.89"],
        ["Tue 2026-11-24", "100", "189.25", "18,925.00", "1 bp", "1.89", "3.78"],
        ["Wed 2026-11-25", "100", "189.25", "18,925.00", "1 bp", "1.89", "5.67"]]
    assert table_rows(response, "penalty-days", section="tfoot") == [
        ["No penalty on 1 settlement day it was open (2026-11-27): no closing price then, or not accrued yet."],
        ["3 days · payable", "5.67 USD", ""]]
    assert text(response, '//div[@id="deadline-banner"]').startswith("Reg SHO close-out due on 2026-11-27:")
    doc = lxml.html.fromstring(response.content.decode())
    assert doc.xpath('//a[text()="sese.023 XML"]/@href') == [
        f"/settlements/instructions/{book['aapl'].instruction_id}/sese023/"]
    assert doc.xpath('//form[contains(@class, "regsho-form")]/@action') == [
        f"/settlements/fails/{book['aapl'].pk}/regsho/"]
    assert text(response, '//table[@id="status-message-table"]//td[@class="empty"]') == (
        f"No status message from the depository for instruction {book['aapl'].instruction_id}.")


def test_a_lack_of_cash_shows_its_rate_and_a_fail_to_receive_has_no_reg_sho_form(clerk, book):
    response = clerk.get(f"/settlements/fails/{book['msft'].pk}/", {"as_of": "2026-11-27"})

    assert table_rows(response, "penalty-days")[0] == ["Mon 2026-11-23", "10", "415.10", "4,151.00", "0.657534 bp",
                                                       "0.27", "0.27"]
    assert b'id="regsho"' not in response.content
    assert "Rule 204 covers fails to deliver US equity securities only" in text(response, '//dl[@class="kv"]')


def test_operations_set_the_reg_sho_basis_on_the_page(clerk, book):
    response = clerk.post(f"/settlements/fails/{book['aapl'].pk}/regsho/",
                          {"regsho_basis": "RULE_144", "reason": "restricted stock, legend removed"}, follow=True)

    fail = SettlementFail.objects.get(pk=book["aapl"].pk)
    assert (fail.regsho_basis, fail.close_out_deadline) == ("RULE_144", date(2026, 12, 24))
    assert text(response, '//ul[@class="messages"]') == (
        f"Reg SHO basis of fail {fail.pk}: Rule 144 security (35th calendar day after trade date); close out by the "
        "opening of Thu 2026-12-24.")


def test_a_bad_reg_sho_form_is_shown_again_with_its_errors(clerk, book):
    response = clerk.post(f"/settlements/fails/{book['aapl'].pk}/regsho/", {"regsho_basis": "SHORT", "reason": ""})

    assert response.status_code == 400
    assert "This field is required." in text(response, '//form[contains(@class, "regsho-form")]')
    assert SettlementFail.objects.get(pk=book["aapl"].pk).regsho_basis == "LONG"


def test_an_unknown_fail_is_a_404(clerk, book):
    assert clerk.get("/settlements/fails/999999/").status_code == 404
    assert clerk.post("/settlements/fails/999999/regsho/", {"regsho_basis": "SHORT", "reason": "x"}).status_code == 404
