"""The reconciliation page: the latest run and its breaks (filters, CSV), the history, Reconcile now; roles."""

import csv
import io
from datetime import date, timedelta

import lxml.html
import pytest
from django.urls import reverse
from django.utils import timezone

from accounting.models import ReconciliationRun
from accounting.reconciliation import services
from accounting.reconciliation.selectors import RECONCILIATION
from backoffice.core.jobs.models import JobRun
from backoffice.core.jobs.services import job_create
from tests import data
from tests.accounting.factories import post_entry
from tests.conftest import make_user
from tests.pages import figures, nav_links, table_rows

pytestmark = pytest.mark.django_db


def stock(account, instrument, quantity: str, reference: str, *, value_date: date | None = None) -> None:
    """A stock movement valued today in TIME_ZONE (what the reconciliation's as-of dates count in), by default."""
    data.stock(account, instrument, quantity, reference, value_date=value_date or timezone.localdate())


def cash(account, currency: str, amount: str, reference: str, *, value_date: date | None = None) -> None:
    """A cash movement valued today in TIME_ZONE, by default."""
    data.cash(account, currency, amount, reference, value_date=value_date or timezone.localdate())

PAGE = "/accounting/reconciliation/"


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def accountant(client):
    client.force_login(make_user("acct-dash", "accounting"))
    return client


def reconcile(as_of: date) -> ReconciliationRun:
    job = job_create(kind=RECONCILIATION, params={"as_of": as_of.isoformat()}, started_by="command")
    return services.reconciliation_reconcile(job=job, as_of=as_of)


@pytest.fixture
def runs(accounts, instruments, today):
    """A clean run as of 2026-01-05, then a run as of today with a securities and a cash break."""
    clean = reconcile(date(2026, 1, 5))
    client_one, house = accounts["ACC-001"], accounts["HOUSE"]
    stock(client_one, instruments["AAPL"], "100", "S-1")
    cash(house, "USD", "1250.10", "C-1")
    post_entry(lines=[("CASH", "1250"), ("ACCOUNT_FUNDS", "-1250")], entry_date=today, account=house)
    return {"clean": clean, "latest": reconcile(today)}


def test_the_url_names_the_navigation_uses():
    assert reverse("accounting:reconciliation") == PAGE
    assert reverse("accounting:reconciliation-start") == PAGE + "start/"
    assert reverse("accounting:reconciliation-run", args=[7]) == PAGE + "7/"
    assert reverse("accounting:reconciliation-breaks-csv", args=[7]) == PAGE + "7/breaks.csv"


def test_the_page_shows_the_latest_run_its_breaks_in_red_and_the_history(accountant, runs, instruments, today):
    response = accountant.get(PAGE)

    assert response.status_code == 200
    shown = figures(response)
    assert shown["as-of"] == f"As of {today:%a %Y-%m-%d}"
    assert shown["positions"] == "1 position checked"
    assert shown["balances"] == "1 cash balance checked"
    assert shown["breaks"] == "2 breaks"
    doc = lxml.html.fromstring(response.content.decode())
    assert "recon-bad" in doc.get_element_by_id("breaks-count").get("class")
    assert table_rows(response, "breaks") == [
        ["Cash", "HOUSE", "USD", "1,250.00", "1,250.10", "-0.10"],
        ["Securities", "ACC-001", f"{instruments['AAPL'].isin} AAPL", "0", "100", "-100"],
    ]
    history = table_rows(response, "history")
    assert [(row[0], row[1], row[-1]) for row in history] == [
        (str(runs["latest"].pk), f"{today:%a %Y-%m-%d}", "2"), (str(runs["clean"].pk), "Mon 2026-01-05", "0")]
    assert ("Reconciliation", PAGE, True) in nav_links(response)


def test_a_clean_run_shows_zero_breaks_in_green(accountant, runs):
    response = accountant.get(reverse("accounting:reconciliation-run", args=[runs["clean"].pk]))

    assert response.status_code == 200
    assert figures(response)["breaks"] == "0 breaks: the books agree"
    doc = lxml.html.fromstring(response.content.decode())
    assert "recon-ok" in doc.get_element_by_id("breaks-count").get("class")
    assert table_rows(response, "breaks") == []
    assert "the ledger agrees" in doc.get_element_by_id("breaks").text_content()


def test_breaks_filter_by_kind_and_account(accountant, runs):
    cash_only = table_rows(accountant.get(PAGE, {"kind": "CASH"}), "breaks")
    house_only = table_rows(accountant.get(PAGE, {"account": "house"}), "breaks")
    unknown = accountant.get(PAGE, {"account": "NOBODY"})

    assert [row[0] for row in cash_only] == ["Cash"]
    assert [row[1] for row in house_only] == ["HOUSE"]
    assert table_rows(unknown, "breaks") == []
    errors = lxml.html.fromstring(unknown.content.decode()).xpath('//div[@class="field-error"]/text()')
    assert errors == ["No account 'NOBODY'."]


def test_the_breaks_download_as_csv_with_the_filters_applied(accountant, runs, instruments, today):
    url = reverse("accounting:reconciliation-breaks-csv", args=[runs["latest"].pk])

    everything = accountant.get(url)
    securities = accountant.get(url, {"kind": "SECURITIES"})

    assert everything.status_code == 200
    assert everything["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(everything.streaming_content).decode())))
    assert rows == [
        ["run", "as_of", "kind", "account", "instrument", "currency", "ledger", "records", "difference"],
        [str(runs["latest"].pk), today.isoformat(), "CASH", "HOUSE", "", "USD", "1250", "1250.1", "-0.1"],
        [str(runs["latest"].pk), today.isoformat(), "SECURITIES", "ACC-001", instruments["AAPL"].isin, "", "0", "100",
         "-100"],
    ]
    securities_rows = list(csv.reader(io.StringIO(b"".join(securities.streaming_content).decode())))
    assert [row[2] for row in securities_rows[1:]] == ["SECURITIES"]


def test_before_any_run_the_page_says_so(accountant):
    response = accountant.get(PAGE)

    assert response.status_code == 200
    doc = lxml.html.fromstring(response.content.decode())
    assert "No reconciliation yet" in doc.get_element_by_id("no-runs").text_content()
    assert table_rows(response, "history") == []


def test_reconcile_now_starts_a_run_and_shows_it(accountant, accounts, instruments, today,
                                                 django_capture_on_commit_callbacks):
    stock(accounts["ACC-001"], instruments["AAPL"], "5", "S-1")

    with django_capture_on_commit_callbacks(execute=True):
        response = accountant.post(reverse("accounting:reconciliation-start"), {"as_of": today.isoformat()})

    assert response.status_code == 302
    job = JobRun.objects.get(kind=RECONCILIATION)
    assert (job.status, job.started_by_label) == (JobRun.Status.COMPLETED, "acct-dash")
    page = accountant.get(response["Location"])
    assert f"queued as job {job.pk}" in page.content.decode()
    assert figures(page)["breaks"] == "1 break"


def test_reconcile_now_refuses_a_day_to_come_and_starts_nothing(accountant, today):
    response = accountant.post(reverse("accounting:reconciliation-start"),
                               {"as_of": (today + timedelta(days=400)).isoformat()})

    assert response.status_code == 400
    assert "still to come" in response.content.decode()
    assert not JobRun.objects.filter(kind=RECONCILIATION).exists()


def test_a_queued_job_is_shown_until_its_run_exists(accountant, today, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        job = services.reconciliation_start(as_of=today, started_by="command")

    response = accountant.get(PAGE)

    doc = lxml.html.fromstring(response.content.decode())
    assert f"Job {job.pk} as of {today.isoformat()} is queued" in " ".join(
        doc.get_element_by_id("unfinished").text_content().split())


def test_reconcile_now_needs_the_csrf_token(accounts, today):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user("acct-csrf", "accounting"))

    response = client.post(reverse("accounting:reconciliation-start"), {"as_of": today.isoformat()})

    assert response.status_code == 403
    assert not JobRun.objects.filter(kind=RECONCILIATION).exists()


def test_compliance_reads_but_sees_no_button_and_may_not_start(client, runs, today):
    client.force_login(make_user("comp-dash", "compliance"))

    page = client.get(PAGE)
    refused = client.post(reverse("accounting:reconciliation-start"), {"as_of": today.isoformat()})

    assert page.status_code == 200
    assert 'id="reconcile-now"' not in page.content.decode()
    assert refused.status_code == 403
    assert JobRun.objects.filter(kind=RECONCILIATION).count() == 2


def test_operations_may_reconcile(client, today, django_capture_on_commit_callbacks):
    client.force_login(make_user("ops-dash", "operations"))

    assert 'id="reconcile-now"' in client.get(PAGE).content.decode()
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(reverse("accounting:reconciliation-start"), {})

    assert response.status_code == 302
    assert JobRun.objects.get(kind=RECONCILIATION).parameters == {"as_of": today.isoformat()}


@pytest.mark.parametrize("url", [PAGE, PAGE + "1/", PAGE + "1/breaks.csv"])
def test_front_office_is_refused_every_page(client, runs, url):
    client.force_login(make_user("fo-dash", "front_office"))

    assert client.get(url).status_code == 403


@pytest.mark.parametrize("url", [PAGE, PAGE + "1/", PAGE + "1/breaks.csv"])
def test_signing_in_is_required(client, url):
    response = client.get(url)

    assert response.status_code == 302
    assert "login" in response["Location"]


def test_an_unknown_run_is_a_404(accountant):
    assert accountant.get(PAGE + "999999/").status_code == 404
    assert accountant.get(PAGE + "999999/breaks.csv").status_code == 404
