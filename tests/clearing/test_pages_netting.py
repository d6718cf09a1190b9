# ruff: noqa: F811 - the fixtures imported from helpers_netting are parameters of the tests
"""The netting pages: clearing runs (and starting one), a run, obligations with filters and totals, an obligation
with its trades; who may see and do what; the admin shows the rows read-only."""

import lxml.html
import pytest

from backoffice.core.jobs.models import JobRun
from clearing.models import ClearingRun, NettedTrade, Obligation
from tests.clearing.helpers_netting import SETTLES, firm, net, netting_alone  # noqa: F401
from tests.conftest import make_user
from tests.pages import nav_links, table_rows

pytestmark = pytest.mark.django_db


@pytest.fixture
def clerk(client, firm):
    client.force_login(firm.ops)
    return client


def _book_day(firm):
    ids = firm.book(("ACC-001", "BRKR-B", "AAPL", "BUY", "100", "189.25"),
                    ("ACC-001", "BRKR-B", "AAPL", "SELL", "30", "190.10"),
                    ("HOUSE", "BRKR-A", "MSFT", "BUY", "50", "415.10"),
                    ("HOUSE", "NSCC", "MSFT", "SELL", "20", "416"),
                    ("HOUSE", "BRKR-B", "SAP", "SELL", "7", "187.36"))
    firm.match([ids[2]])
    return ids


def text(response, xpath: str) -> str:
    doc = lxml.html.fromstring(response.content.decode())
    return " ".join(" ".join(el.text_content().split()) for el in doc.xpath(xpath))


def test_the_runs_page_lists_runs_with_status_progress_figures_and_totals(clerk, firm):
    _book_day(firm)
    us, eu = net(), net(SETTLES.replace(day=24))
    empty = net()

    response = clerk.get("/clearing/runs/")

    rows = table_rows(response, "runs")
    assert [row[0] for row in rows] == [str(empty.pk), str(eu.pk), str(us.pk)]
    assert rows[2][1:9] == ["Mon 2026-11-23", "Completed", "100% 2/2 chunks", "4", "2", "50.0%", "52.2%", "test"]
    assert rows[0][1:8] == ["Mon 2026-11-23", "Completed", "100% 2/2 chunks", "0", "0", "—", "—"]
    assert rows[1][1:6] == ["Tue 2026-11-24", "Completed", "100% 2/2 chunks", "1", "1"]
    assert table_rows(response, "runs", section="tfoot") == [
        ["3 runs (completed runs' figures)", "5", "3", ""]]
    content = response.content.decode()
    assert 'src="/static/js/clearing_runs.js"' in content and 'data-progress-url="/jobs/progress/"' in content
    assert ("Clearing runs", "/clearing/runs/", True) in nav_links(response)
    # The form offers the next settlement date.
    doc = lxml.html.fromstring(content)
    assert doc.xpath('//form[@class="run-start-form"]//input[@name="settlement_date"]/@type') == ["date"]


def test_the_runs_page_filters_by_date_and_status_and_says_when_nothing_matches(clerk, firm):
    net()
    assert len(table_rows(clerk.get("/clearing/runs/?settlement_date=2026-11-23"), "runs")) == 1
    response = clerk.get("/clearing/runs/?status=FAILED")
    assert table_rows(response, "runs") == []
    assert text(response, '//table[@id="runs"]//td[@class="empty"]') == "No clearing runs match these filters."


def test_the_runs_page_without_runs_says_how_runs_come(clerk):
    response = clerk.get("/clearing/runs/")
    assert text(response, '//table[@id="runs"]//td[@class="empty"]') == (
        "No clearing runs yet: the beat nets the next settlement date every weekday at the cut-off, or run "
        "netting for a date above.")


def test_running_netting_from_the_page_queues_a_run_and_says_so(clerk, firm, django_capture_on_commit_callbacks):
    _book_day(firm)
    with django_capture_on_commit_callbacks(execute=True):
        response = clerk.post("/clearing/runs/start/", {"settlement_date": "2026-11-23"}, follow=True)
    run = ClearingRun.objects.get()
    assert text(response, '//ul[@class="messages"]') == (
        f"Clearing run {run.pk} for 2026-11-23 queued as job {run.job_id}: its progress shows below.")
    assert run.job.status == "COMPLETED" and Obligation.objects.filter(run=run).count() == 2
    assert run.job.started_by == firm.ops


def test_the_page_refuses_a_date_no_market_settles_on_the_form(clerk, firm):
    response = clerk.post("/clearing/runs/start/", {"settlement_date": "2026-11-21"})
    assert response.status_code == 400
    assert text(response, '//form[@class="run-start-form"]//div[@class="field-error"]') == (
        "2026-11-21 is not a settlement day of any market.")
    response = clerk.post("/clearing/runs/start/", {"settlement_date": "someday"})
    assert response.status_code == 400 and "Enter a valid date." in response.content.decode()
    assert not ClearingRun.objects.exists()


def test_a_second_run_of_a_queued_date_is_refused_with_a_message(clerk, firm):
    clerk.post("/clearing/runs/start/", {"settlement_date": "2026-11-23"}, follow=True)
    response = clerk.post("/clearing/runs/start/", {"settlement_date": "2026-11-23"}, follow=True)
    run = ClearingRun.objects.get()
    assert text(response, '//ul[@class="messages"]') == (
        f"Clearing run {run.pk} for 2026-11-23 is QUEUED: wait for it to finish.")
    assert table_rows(response, "runs")[0][2] == "Queued"
    assert "waiting for a worker" in table_rows(response, "runs")[0][3]


def test_the_run_page_shows_figures_per_currency_its_obligations_and_its_job(clerk, firm):
    _book_day(firm)
    run = net()
    response = clerk.get(f"/clearing/runs/{run.pk}/")
    assert table_rows(response, "currency-figures")[0] == [
        "USD", "4", "2", "50.0%", "53,703.00", "25,657.00", "52.2%", "25,657.00", "0.00"]
    assert len(table_rows(response, "obligations")) == 2
    assert "figures of the completed run" in text(response, '//section[@id="run-figures"]')
    assert f"Job {run.job_id}" in text(response, '//section[@id="run-job"]')


def test_a_failed_run_shows_its_error_and_offers_to_continue_it(clerk, firm, monkeypatch):
    _book_day(firm)

    def broken(*, job):
        raise RuntimeError("summary lost")

    monkeypatch.setattr("clearing.netting.jobs.clearing_run_summarize", broken)
    run = net()
    response = clerk.get(f"/clearing/runs/{run.pk}/")
    assert "The run failed: RuntimeError: summary lost" in text(response, '//div[@id="run-error"]')
    assert "(4 trades so far)" in text(response, '//div[@id="run-error"]')
    assert lxml.html.fromstring(response.content).xpath('//button[@id="continue-run"]')
    listed = table_rows(clerk.get("/clearing/runs/"), "runs")[0]
    assert listed[2:6] == ["Failed", "50% 1/2 chunks", "4", "2"] and listed[-1] == "RuntimeError: summary lost"

    monkeypatch.undo()
    response = clerk.post("/clearing/runs/start/", {"settlement_date": "2026-11-23"}, follow=True)
    continued = ClearingRun.objects.get()
    assert text(response, '//ul[@class="messages"]') == (
        f"Clearing run {run.pk} for 2026-11-23 continued as job {continued.job_id}: job {run.job_id} had failed. "
        "It nets what is still left.")


def test_the_obligations_page_filters_and_totals_per_currency(clerk, firm):
    _book_day(firm)
    net(), net(SETTLES.replace(day=24))

    response = clerk.get("/clearing/obligations/")
    rows = table_rows(response, "obligations")
    assert [(row[3], row[4], row[5], row[6], row[7], row[8], row[9]) for row in rows] == [
        ("HOUSE", "BRKR-B", "SAP DE0007164600", "EUR", "-7", "1,311.52", "1"),
        ("HOUSE", "NSCC CCP", "MSFT US5949181045", "USD", "30", "-12,435.00", "2"),
        ("ACC-001", "BRKR-B", "AAPL US0378331005", "USD", "70", "-13,222.00", "2")]
    totals = text(response, '//div[@id="obligation-totals"]')
    assert totals.startswith("3 obligations")
    assert "EUR pay 0.00 · receive 1,311.52" in totals and "USD pay 25,657.00 · receive 0.00" in totals

    assert len(table_rows(clerk.get("/clearing/obligations/?counterparty=nscc"), "obligations")) == 1
    assert len(table_rows(clerk.get("/clearing/obligations/?instrument=AAPL"), "obligations")) == 1
    assert len(table_rows(clerk.get("/clearing/obligations/?settlement_date=2026-11-24"), "obligations")) == 1
    unknown = clerk.get("/clearing/obligations/?account=NOPE")
    assert table_rows(unknown, "obligations") == []
    assert text(unknown, '//form[@class="filters"]//div[@class="field-error"]') == "No account 'NOPE'."
    assert text(unknown, '//table[@id="obligations"]//td[@class="empty"]') == "No obligations match these filters."


def test_the_obligations_page_without_obligations_says_where_they_come_from(clerk):
    response = clerk.get("/clearing/obligations/")
    assert text(response, '//table[@id="obligations"]//td[@class="empty"]') == (
        "No obligations yet: a clearing run creates them from the trades it nets.")


def test_the_obligation_page_drills_down_to_its_trades(clerk, firm):
    ids = _book_day(firm)
    net()
    novated = Obligation.objects.get(counterparty__code="NSCC")

    response = clerk.get(f"/clearing/obligations/{novated.pk}/")

    rows = table_rows(response, "netted-trades")
    assert [row[0] for row in rows] == [str(ids[2]), str(ids[3])]
    assert rows[0][3:8] == ["BRKR-A via NSCC", "Buy", "50", "415.10", "20,755.00"]
    assert rows[1][3:8] == ["NSCC", "Sell", "20", "416.00", "8,320.00"]
    links = lxml.html.fromstring(response.content).xpath('//table[@id="netted-trades"]//a/@href')
    assert f"/records/trades/{ids[2]}/" in links
    assert table_rows(response, "netted-trades", section="tfoot")[2] == [
        "Net (bought − sold; cash sold − bought)", "30", "", "-12,435.00", ""]
    fields = text(response, '//section[@id="obligation-fields"]')
    assert "the account receives securities" in fields and "the account pays cash" in fields


def test_readers_see_the_pages_runners_start_runs_others_are_refused(client, firm):
    run = net()
    obligation_pages = ["/clearing/obligations/"]
    for role in ("compliance", "accounting"):
        client.force_login(make_user(f"reader-{role}", role))
        for url in ("/clearing/runs/", f"/clearing/runs/{run.pk}/", *obligation_pages):
            assert client.get(url).status_code == 200, (role, url)
        assert b"run-start-form" not in client.get("/clearing/runs/").content
        assert client.post("/clearing/runs/start/", {"settlement_date": "2026-11-24"}).status_code == 403
    client.force_login(firm.maker)  # front office
    assert client.get("/clearing/runs/").status_code == 403
    assert client.get("/clearing/obligations/").status_code == 403
    client.logout()
    assert client.get("/clearing/runs/").status_code == 302
    assert ClearingRun.objects.count() == 1


def test_unknown_runs_and_obligations_are_404(clerk):
    assert clerk.get("/clearing/runs/999999/").status_code == 404
    assert clerk.get("/clearing/obligations/999999/").status_code == 404


def test_the_admin_shows_runs_obligations_and_links_read_only(client, firm):
    firm.book(("ACC-001", "BRKR-B", "AAPL", "BUY", "100", "189.25"))
    run = net()
    client.force_login(make_user("admin", superuser=True))
    obligation = Obligation.objects.get()
    link = NettedTrade.objects.get()
    for url in ("/admin/clearing/clearingrun/", f"/admin/clearing/clearingrun/{run.pk}/change/",
                "/admin/clearing/obligation/", f"/admin/clearing/obligation/{obligation.pk}/change/",
                "/admin/clearing/nettedtrade/", f"/admin/clearing/nettedtrade/{link.pk}/change/",
                "/admin/clearing/obligation/?q=ACC-001", "/admin/clearing/obligation/?q=x"):
        assert client.get(url).status_code == 200, url
    assert client.get("/admin/clearing/obligation/add/").status_code == 403
    assert client.post(f"/admin/clearing/obligation/{obligation.pk}/delete/").status_code == 403
    assert JobRun.objects.count() == 1
