"""The surveillance page (/compliance/surveillance/): its runs with per-scenario counts, filters, and the Run
surveillance form (compliance and operations; accounting reads; front office is refused)."""

from datetime import timedelta

import pytest

from backoffice.core.jobs.models import JobRun
from tests.compliance.helpers_surveillance import DAY, survey
from tests.conftest import make_user
from tests.pages import table_rows

pytestmark = pytest.mark.django_db
URL = "/compliance/surveillance/"
RUN = "/compliance/surveillance/run/"


def signed_in_as(client, *roles):
    client.force_login(make_user("-".join(roles) or "none", *roles))
    return client


def test_anonymous_is_sent_to_log_in(client):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"] == f"/accounts/login/?next={URL}"


@pytest.mark.parametrize("role, may_run", [("compliance", True), ("operations", True), ("accounting", False)])
def test_readers_see_the_runs_and_runners_the_form(client, role, may_run):
    survey()
    response = signed_in_as(client, role).get(URL)
    assert response.status_code == 200
    assert (b'id="run-surveillance"' in response.content) is may_run
    [row] = table_rows(response, "runs")
    assert row[1:3] == ["2026-11-20", "Completed"]
    assert row[3:8] == ["0", "0", "0", "0", "0"]
    assert row[8:12] == ["0", "0", "0 / 0", "test"]


def test_front_office_is_refused(client):
    assert signed_in_as(client, "front_office").get(URL).status_code == 403
    assert client.post(RUN, {"trade_date": "2026-11-20"}).status_code == 403
    assert not JobRun.objects.exists()


def test_accounting_may_not_start_a_run(client):
    assert signed_in_as(client, "accounting").post(RUN, {"trade_date": "2026-11-20"}).status_code == 403
    assert not JobRun.objects.exists()


def test_run_surveillance_queues_the_date(client):
    response = signed_in_as(client, "compliance").post(RUN, {"trade_date": "2026-11-20"}, follow=True)
    job = JobRun.objects.get(kind="compliance-surveillance")
    assert (job.status, job.parameters) == ("QUEUED", {"trade_date": "2026-11-20"})
    assert f"queued (job {job.pk})".encode() in response.content
    [row] = table_rows(response, "runs")
    assert row[2] == "Queued"


def test_a_refused_date_shows_on_the_form(client):
    signed_in_as(client, "compliance")
    response = client.post(RUN, {"trade_date": "2026-11-21"})
    assert response.status_code == 400 and b"not a trading day of any market" in response.content
    client.post(RUN, {"trade_date": "2026-11-20"})
    response = client.post(RUN, {"trade_date": "2026-11-20"})
    assert response.status_code == 400 and b"already queued" in response.content
    assert JobRun.objects.count() == 1


def test_the_filters_narrow_the_runs(client):
    survey()
    survey(DAY - timedelta(days=1))
    signed_in_as(client, "compliance")
    assert [r[1] for r in table_rows(client.get(URL), "runs")] == ["2026-11-19", "2026-11-20"]
    assert [r[1] for r in table_rows(client.get(URL, {"trade_date": "2026-11-20"}), "runs")] == ["2026-11-20"]
    failed = client.get(URL, {"status": "FAILED"})
    assert table_rows(failed, "runs") == [] and b"No runs match these filters." in failed.content
    assert client.get(URL, {"trade_date": "nope"}).status_code == 200
