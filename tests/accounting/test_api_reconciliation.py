"""The reconciliation API: start a run (202 with the job), list runs, a run, its breaks; roles; bad input is a 400."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from accounting.models import ReconciliationBreak, ReconciliationRun
from accounting.reconciliation import services
from accounting.reconciliation.selectors import RECONCILIATION
from backoffice.core.jobs.models import JobRun
from backoffice.core.jobs.services import job_create
from records.audit.models import AuditRecord
from tests import data
from tests.accounting.factories import post_entry

pytestmark = pytest.mark.django_db


def stock(account, instrument, quantity: str, reference: str, *, value_date: date | None = None) -> None:
    """A stock movement valued today in TIME_ZONE (what the reconciliation's as-of dates count in), by default."""
    data.stock(account, instrument, quantity, reference, value_date=value_date or timezone.localdate())


def cash(account, currency: str, amount: str, reference: str, *, value_date: date | None = None) -> None:
    """A cash movement valued today in TIME_ZONE, by default."""
    data.cash(account, currency, amount, reference, value_date=value_date or timezone.localdate())

URL = "/api/v1/accounting/reconciliations/"


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def run_with_breaks(accounts, instruments, today):
    """A run as of today with one securities break (no ledger lines) and one cash break (a difference)."""
    client_one, house = accounts["ACC-001"], accounts["HOUSE"]
    stock(client_one, instruments["AAPL"], "100", "S-1")
    cash(house, "USD", "250.10", "C-1")
    post_entry(lines=[("CASH", "250"), ("ACCOUNT_FUNDS", "-250")], entry_date=today, account=house)
    job = job_create(kind=RECONCILIATION, params={"as_of": today.isoformat()}, started_by="command")
    return services.reconciliation_reconcile(job=job, as_of=today)


# --- starting ---

def test_post_starts_a_reconciliation_as_of_today_and_answers_202_with_the_job(accounting_client, today,
                                                                               django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = accounting_client.post(URL, {}, format="json")

    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["kind"], body["parameters"], body["started_by"]) == (RECONCILIATION, {"as_of": today.isoformat()},
                                                                      "acct")
    job = JobRun.objects.get(pk=body["id"])
    assert job.status == JobRun.Status.COMPLETED  # eager Celery under the test settings
    run = ReconciliationRun.objects.get(job=job)
    assert job.result == [{"rows": 0, "reconciliation_run": run.pk, "as_of": today.isoformat(),
                           "positions_checked": 0, "balances_checked": 0, "breaks": 0}]


def test_post_takes_an_as_of_date(ops_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        response = ops_client.post(URL, {"as_of": "2026-01-05"}, format="json")

    assert response.status_code == 202
    assert response.json()["parameters"] == {"as_of": "2026-01-05"}


@pytest.mark.parametrize("as_of", ["20260105", "2026-1-5", "2026-02-30", 20260105, "yesterday"])
def test_a_malformed_date_is_a_400_and_starts_nothing(accounting_client, as_of):
    response = accounting_client.post(URL, {"as_of": as_of}, format="json")

    assert response.status_code == 400
    assert "as_of" in response.json()
    assert not JobRun.objects.filter(kind=RECONCILIATION).exists()


def test_a_day_to_come_is_a_400(accounting_client, today):
    response = accounting_client.post(URL, {"as_of": (today + timedelta(days=400)).isoformat()}, format="json")

    assert response.status_code == 400
    assert "as_of" in response.json()
    assert not JobRun.objects.filter(kind=RECONCILIATION).exists()


def test_a_body_that_is_not_json_is_a_400(accounting_client):
    response = accounting_client.post(URL, "{not json", content_type="application/json")

    assert response.status_code == 400


def test_starting_is_audited(accounting_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        job_id = accounting_client.post(URL, {}, format="json").json()["id"]

    assert AuditRecord.objects.filter(record_type="core.jobrun", record_id=str(job_id), action="CREATE").exists()


# --- reading ---

def test_runs_are_listed_newest_first_and_filtered_by_as_of(accounting_client, run_with_breaks, today):
    older = job_create(kind=RECONCILIATION, params={"as_of": "2026-01-05"})
    older_run = services.reconciliation_reconcile(job=older, as_of=date(2026, 1, 5))

    listed = accounting_client.get(URL).json()
    only_older = accounting_client.get(URL, {"as_of": "2026-01-05"}).json()

    assert [run["id"] for run in listed["results"]] == [older_run.pk, run_with_breaks.pk]
    assert listed["count"] == 2
    assert [run["id"] for run in only_older["results"]] == [older_run.pk]


def test_a_run_shows_its_counts_and_its_jobs_status(compliance_client, run_with_breaks, today):
    response = compliance_client.get(f"{URL}{run_with_breaks.pk}/")

    assert response.status_code == 200
    body = response.json()
    assert {key: body[key] for key in ("id", "as_of", "status", "job", "job_kind", "started_by", "positions_checked",
                                       "balances_checked", "breaks", "breaks_by_kind", "error")} == {
        "id": run_with_breaks.pk, "as_of": today.isoformat(), "status": "QUEUED", "job": run_with_breaks.job_id,
        "job_kind": RECONCILIATION, "started_by": "command", "positions_checked": 1, "balances_checked": 1,
        "breaks": 2, "breaks_by_kind": {"SECURITIES": 1, "CASH": 1}, "error": ""}


def test_a_runs_breaks_with_exact_figures_as_strings(accounting_client, run_with_breaks, instruments):
    response = accounting_client.get(f"{URL}{run_with_breaks.pk}/breaks/")

    assert response.status_code == 200
    rows = [{key: row[key] for key in ("kind", "account", "instrument", "currency", "ledger", "records", "difference")}
            for row in response.json()["results"]]
    assert rows == [
        {"kind": "CASH", "account": "HOUSE", "instrument": None, "currency": "USD", "ledger": "250.00",
         "records": "250.10", "difference": "-0.10"},
        {"kind": "SECURITIES", "account": "ACC-001", "instrument": instruments["AAPL"].isin, "currency": None,
         "ledger": "0", "records": "100", "difference": "-100"},
    ]


def test_breaks_filter_by_kind_and_account(accounting_client, run_with_breaks):
    url = f"{URL}{run_with_breaks.pk}/breaks/"

    securities = accounting_client.get(url, {"kind": "SECURITIES"}).json()["results"]
    house = accounting_client.get(url, {"account": "house"}).json()["results"]
    nobody = accounting_client.get(url, {"account": "NOBODY"}).json()

    assert [row["kind"] for row in securities] == ["SECURITIES"]
    assert [(row["account"], row["kind"]) for row in house] == [("HOUSE", "CASH")]
    assert nobody["count"] == 0


@pytest.mark.parametrize(("query", "expected"), [({"kind": "BONDS"}, 400), ({"page_size": "ten"}, 400),
                                                 ({"page": "0"}, 400)])
def test_malformed_break_filters_are_a_400_never_a_500(accounting_client, run_with_breaks, query, expected):
    response = accounting_client.get(f"{URL}{run_with_breaks.pk}/breaks/", query)

    assert response.status_code == expected
    assert response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize("as_of", ["2026-13-01", "05/01/2026"])
def test_a_malformed_as_of_filter_is_a_400(accounting_client, as_of):
    response = accounting_client.get(URL, {"as_of": as_of})

    assert response.status_code == 400
    assert "as_of" in response.json()


def test_an_unknown_run_is_a_404(accounting_client):
    assert accounting_client.get(f"{URL}999999/").status_code == 404
    assert accounting_client.get(f"{URL}999999/breaks/").status_code == 404


def test_breaks_are_paginated(accounting_client, accounts, instruments, today):
    for n, instrument in enumerate(instruments.values()):
        stock(accounts["ACC-001"], instrument, str(n + 1), f"S-{n}")
    job = job_create(kind=RECONCILIATION, params={"as_of": today.isoformat()})
    run = services.reconciliation_reconcile(job=job, as_of=today)

    body = accounting_client.get(f"{URL}{run.pk}/breaks/", {"page_size": 3}).json()

    assert body["count"] == 4
    assert len(body["results"]) == 3
    assert body["next"] is not None
    assert ReconciliationBreak.objects.filter(run=run).count() == 4


# --- roles ---

def test_without_a_token_every_endpoint_is_a_401(anon_client, run_with_breaks):
    for response in (anon_client.get(URL), anon_client.post(URL, {}, format="json"),
                     anon_client.get(f"{URL}{run_with_breaks.pk}/"),
                     anon_client.get(f"{URL}{run_with_breaks.pk}/breaks/")):
        assert response.status_code == 401


def test_front_office_may_neither_read_nor_start(fo_client, run_with_breaks):
    for response in (fo_client.get(URL), fo_client.post(URL, {}, format="json"),
                     fo_client.get(f"{URL}{run_with_breaks.pk}/"), fo_client.get(f"{URL}{run_with_breaks.pk}/breaks/")):
        assert response.status_code == 403
    assert JobRun.objects.filter(kind=RECONCILIATION).count() == 1


def test_compliance_reads_but_may_not_start(compliance_client, run_with_breaks):
    assert compliance_client.get(URL).status_code == 200
    assert compliance_client.get(f"{URL}{run_with_breaks.pk}/breaks/").status_code == 200

    response = compliance_client.post(URL, {}, format="json")

    assert response.status_code == 403
    assert JobRun.objects.filter(kind=RECONCILIATION).count() == 1
