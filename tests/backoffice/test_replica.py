"""A read replica for the reports (backoffice/core/replica.py): with one configured, the reports' pages, CSV
downloads and API read the back-office tables from it, and nothing else does; without one, everything reads the
primary. The test settings point the `reports` alias at the test database itself (a mirror); the data is
committed (transactional test) so that the second connection sees it."""

import pytest
from django.db import connections
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.accounting.test_selectors_reports import build_ledger
from tests.conftest import make_user

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "reports"])

REPORTS = ["/accounting/trial-balance/", "/accounting/pnl/", "/accounting/statements/",
           "/accounting/ledger/?gl_account=1300", "/accounting/ledger/csv/?gl_account=1300",
           "/api/v1/accounting/trial-balance/", "/api/v1/accounting/pnl/", "/api/v1/accounting/balance-sheet/",
           "/api/v1/accounting/ledger/?gl_account=1300"]


def _tables(queries) -> str:
    return " ".join(query["sql"] for query in queries)


def _fetch(client, url: str) -> bytes:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.fixture
def reader(accounts, instruments):
    build_ledger(accounts, instruments)
    client = Client()
    client.force_login(make_user("replica-reader", "accounting"))
    return client


def test_with_a_replica_the_reports_read_the_ledger_from_it(reader, settings):
    settings.REPORTS_REPLICA = True
    for url in REPORTS:
        with CaptureQueriesContext(connections["reports"]) as replica, \
                CaptureQueriesContext(connections["default"]) as primary:
            body = _fetch(reader, url)
        assert body
        assert "accounting_" in _tables(replica), url
        # The primary serves the session and the user (and the API's token), not the ledger.
        assert "accounting_journalline" not in _tables(primary) and "accounting_daytotal" not in _tables(primary), url


def test_without_a_replica_everything_reads_the_primary(reader, settings):
    settings.REPORTS_REPLICA = False
    for url in REPORTS:
        with CaptureQueriesContext(connections["reports"]) as replica, \
                CaptureQueriesContext(connections["default"]) as primary:
            _fetch(reader, url)
        assert not replica.captured_queries, url
        assert "accounting_" in _tables(primary), url


def test_writes_and_other_pages_stay_on_the_primary_with_a_replica(reader, settings, fo_client):
    settings.REPORTS_REPLICA = True
    with CaptureQueriesContext(connections["reports"]) as replica:
        assert reader.get("/records/trades/").status_code == 200
        response = fo_client.post("/api/v1/trades/", {
            "external_ref": "REPLICA-1", "account": "ACC-001", "counterparty": "BRKR-A",
            "instrument": "US0378331005", "side": "BUY", "quantity": "1", "price": "100",
            "trade_date": "2026-11-20"}, format="json")
        assert response.status_code in (201, 400), response.content
    assert not replica.captured_queries
