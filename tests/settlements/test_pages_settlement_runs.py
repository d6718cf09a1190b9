# ruff: noqa: F811 - the fixtures imported from helpers_settlement are parameters of the tests
"""The settlement run pages: the runs (and starting one), a run with what it moved and what is still open; who may
see and do what; the admin shows the rows read-only."""

import lxml.html
import pytest

from backoffice.core.jobs.models import JobRun
from settlements.models import SettlementMovement, SettlementRun
from tests.conftest import make_user
from tests.pages import nav_links, table_rows
from tests.settlements.helpers_settlement import (  # noqa: F401
    NEXT_DAY,
    book_and_instruct,
    firm,
    fund,
    hold,
    own_steps_only,
    settle,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def clerk(client, firm):
    client.force_login(firm.ops)
    return client


def text(response, xpath: str) -> str:
    doc = lxml.html.fromstring(response.content.decode())
    return " ".join(" ".join(el.text_content().split()) for el in doc.xpath(xpath))


def _day(firm):
    """ACC-001 pays 1,025 for 100 AAPL (settles); HOUSE delivers 40 MSFT holding 25 (partial); ACC-001 cannot pay
    5,000 for 100 MSFT (fails)."""
    fund(firm, "ACC-001", "1500")
    hold(firm, "HOUSE", "MSFT", "25")
    book_and_instruct(firm, ("ACC-001", "BRKR-B", "AAPL", "BUY", "100", "10.25"), allow_partial=False)
    book_and_instruct(firm, ("HOUSE", "BRKR-B", "MSFT", "SELL", "40", "20"), allow_partial=True)
    book_and_instruct(firm, ("ACC-001", "NSCC", "MSFT", "BUY", "100", "50"), allow_partial=False)


def test_the_runs_page_lists_runs_with_status_progress_counts_and_totals(clerk, firm):
    _day(firm)
    first = settle()
    again = settle()

    response = clerk.get("/settlements/runs/")

    rows = table_rows(response, "runs")
    assert [row[0] for row in rows] == [str(again.pk), str(first.pk)]
    assert rows[1][1:8] == ["Mon 2026-11-23", "Completed", "100% 1/1 chunks", "1", "1", "1", "test"]
    assert rows[0][1:7] == ["Mon 2026-11-23", "Completed", "100% 1/1 chunks", "0", "1", "1"]
    assert table_rows(response, "runs", section="tfoot") == [["2 runs", "1", "2", "2", ""]]
    content = response.content.decode()
    assert 'src="/static/js/clearing_runs.js"' in content and 'data-progress-url="/jobs/progress/"' in content
    assert ("Settlement runs", "/settlements/runs/", True) in nav_links(response)
    doc = lxml.html.fromstring(content)
    assert doc.xpath('//form[@class="run-start-form"]//input[@name="settlement_date"]/@type') == ["date"]


def test_the_runs_page_filters_and_says_when_nothing_matches_or_nothing_ran(clerk, firm):
    response = clerk.get("/settlements/runs/")
    assert text(response, '//table[@id="runs"]//td[@class="empty"]') == (
        "No settlement runs yet: the beat settles today every weekday at 15:30, or run settlement for a date above.")
    settle()
    assert len(table_rows(clerk.get("/settlements/runs/?settlement_date=2026-11-23"), "runs")) == 1
    response = clerk.get("/settlements/runs/?status=FAILED")
    assert table_rows(response, "runs") == []
    assert text(response, '//table[@id="runs"]//td[@class="empty"]') == "No settlement runs match these filters."
    assert clerk.get("/settlements/runs/?settlement_date=2026-13-01").status_code == 200


def test_running_settlement_from_the_page_queues_a_run_and_says_so(clerk, firm, django_capture_on_commit_callbacks):
    _day(firm)
    with django_capture_on_commit_callbacks(execute=True):
        response = clerk.post("/settlements/runs/start/", {"settlement_date": "2026-11-23"}, follow=True)
    run = SettlementRun.objects.get()
    assert text(response, '//ul[@class="messages"]') == (
        f"Settlement run {run.pk} for 2026-11-23 queued as job {run.job_id}: its progress shows below.")
    assert run.job.status == "COMPLETED" and SettlementMovement.objects.filter(run=run).count() == 2
    assert run.job.started_by == firm.ops


def test_the_page_refuses_a_date_no_market_settles_on_and_a_malformed_date_on_the_form(clerk, firm):
    response = clerk.post("/settlements/runs/start/", {"settlement_date": "2026-11-21"})
    assert response.status_code == 400
    assert text(response, '//form[@class="run-start-form"]//div[@class="field-error"]') == (
        "2026-11-21 is not a settlement day of any market.")
    response = clerk.post("/settlements/runs/start/", {"settlement_date": "someday"})
    assert response.status_code == 400 and "Enter a valid date." in response.content.decode()
    assert not SettlementRun.objects.exists()


def test_a_second_run_of_a_queued_date_is_refused_with_a_message(clerk, firm):
    clerk.post("/settlements/runs/start/", {"settlement_date": "2026-11-23"}, follow=True)
    response = clerk.post("/settlements/runs/start/", {"settlement_date": "2026-11-23"}, follow=True)
    run = SettlementRun.objects.get()
    assert text(response, '//ul[@class="messages"]') == (
        f"Settlement run {run.pk} for 2026-11-23 is QUEUED: wait for it to finish.")
    assert table_rows(response, "runs")[0][2] == "Queued"


def test_the_run_page_shows_counts_per_currency_its_movements_and_what_is_still_open(clerk, firm):
    _day(firm)
    run = settle()
    response = clerk.get(f"/settlements/runs/{run.pk}/")
    assert table_rows(response, "currency-figures") == [["USD", "2", "1,025.00", "500.00", "-525.00"]]
    movements = table_rows(response, "movements")
    assert [row[1:8] for row in movements] == [
        ["HOUSE", "BRKR-B", "MSFT US5949181045", "2026-11-23", "-25", "500.00 USD", "40"],
        ["ACC-001", "BRKR-B", "AAPL US0378331005", "2026-11-23", "100", "-1,025.00 USD", "100"]]
    assert [row[-1] for row in movements] == ["Partially settled", "Settled"]
    still_open = table_rows(response, "open-instructions")
    assert [row[1:2] + row[5:] for row in still_open] == [
        ["HOUSE", "Deliver", "40", "25", "15", "300.00 USD", "Partially settled", "Lack of securities", "2026-11-23"],
        ["ACC-001", "Receive", "100", "0", "100", "-5,000.00 USD", "Failed", "Lack of cash", "2026-11-23"]]
    assert text(response, '//section[@id="run-figures"]//dl') == (
        "Settled in full1 Partially settled1 Failed1 Instructions taken3 Movements2 Still open2")
    assert f"Job {run.job_id}" in text(response, '//section[@id="run-job"]')


def test_an_empty_run_says_nothing_settled(clerk, firm):
    run = settle()
    response = clerk.get(f"/settlements/runs/{run.pk}/")
    assert text(response, '//table[@id="currency-figures"]//td[@class="empty"]') == (
        "Nothing settled: no open instruction due by 2026-11-23 could settle.")
    assert text(response, '//table[@id="open-instructions"]//td[@class="empty"]') == (
        "Nothing due by 2026-11-23 is open: every instruction settled.")


def test_a_failed_run_shows_its_error_and_offers_to_continue_it(clerk, firm, monkeypatch):
    _day(firm)

    def broken(*, job, index):
        raise RuntimeError("disk full")

    monkeypatch.setattr("settlements.runs.jobs.settlement_run_settle", broken)
    run = settle()
    response = clerk.get(f"/settlements/runs/{run.pk}/")
    assert "The run failed: RuntimeError: disk full" in text(response, '//div[@id="run-error"]')
    assert lxml.html.fromstring(response.content).xpath('//button[@id="continue-run"]')
    listed = table_rows(clerk.get("/settlements/runs/"), "runs")[0]
    assert listed[2] == "Failed" and listed[-1] == "RuntimeError: disk full"

    monkeypatch.undo()
    response = clerk.post("/settlements/runs/start/", {"settlement_date": "2026-11-23"}, follow=True)
    continued = SettlementRun.objects.get()
    assert text(response, '//ul[@class="messages"]') == (
        f"Settlement run {run.pk} for 2026-11-23 continued as job {continued.job_id}: job {run.job_id} had failed. "
        "It settles what is still open.")


def test_the_days_confirmations_show_as_a_run_of_their_own(clerk, firm):
    from settlements.runs import services

    hold(firm, "HOUSE", "AAPL", "5")
    delivery, = book_and_instruct(firm, ("HOUSE", "BRKR-B", "AAPL", "SELL", "10", "10"), allow_partial=False)
    services.instruction_settle_confirmed(actor=firm.ops, instruction_id=delivery.pk, reason="sese.025",
                                          settled_on=NEXT_DAY)
    container = SettlementRun.objects.get()
    rows = table_rows(clerk.get("/settlements/runs/"), "runs")
    assert rows[0][1] == "Tue 2026-11-24 confirmed"
    response = clerk.get(f"/settlements/runs/{container.pk}/")
    assert "confirmed by the depository on Tue 2026-11-24" in text(response, "//h1")
    assert len(table_rows(response, "movements")) == 1


def test_readers_see_the_pages_runners_start_runs_others_are_refused(client, firm):
    run = settle()
    for role in ("compliance", "accounting"):
        client.force_login(make_user(f"reader-{role}", role))
        for url in ("/settlements/runs/", f"/settlements/runs/{run.pk}/"):
            assert client.get(url).status_code == 200, (role, url)
        assert b"run-start-form" not in client.get("/settlements/runs/").content
        assert client.post("/settlements/runs/start/", {"settlement_date": "2026-11-24"}).status_code == 403
    client.force_login(firm.maker)  # front office
    assert client.get("/settlements/runs/").status_code == 403
    client.logout()
    assert client.get("/settlements/runs/").status_code == 302
    assert SettlementRun.objects.count() == 1


def test_unknown_runs_are_404(clerk):
    assert clerk.get("/settlements/runs/999999/").status_code == 404


def test_the_admin_shows_runs_and_movements_read_only(client, firm):
    fund(firm, "ACC-001", "5000")
    book_and_instruct(firm, ("ACC-001", "BRKR-B", "AAPL", "BUY", "100", "10"))
    run = settle()
    movement = SettlementMovement.objects.get()
    client.force_login(make_user("admin", superuser=True))
    for url in ("/admin/settlements/settlementrun/", f"/admin/settlements/settlementrun/{run.pk}/change/",
                "/admin/settlements/settlementmovement/",
                f"/admin/settlements/settlementmovement/{movement.pk}/change/",
                "/admin/settlements/settlementmovement/?q=ACC-001"):
        assert client.get(url).status_code == 200, url
    assert client.get("/admin/settlements/settlementrun/add/").status_code == 403
    assert client.post(f"/admin/settlements/settlementmovement/{movement.pk}/delete/").status_code == 403
    assert JobRun.objects.filter(kind="settlement-run").count() == 1
