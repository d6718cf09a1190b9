# ruff: noqa: F811 - the fixtures imported from the helpers are parameters of the tests
"""The posting page: backlog, runs with what they posted and left unposted, the rules table, the buttons."""

from unittest import mock

import pytest
from django.test import Client

from accounting.posting import services as posting
from backoffice.core.jobs.models import JobRun
from tests.accounting.helpers_posting import books, firm, post, run  # noqa: F401
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def _client(*roles):
    client = Client()
    client.force_login(make_user("clerk-" + "-".join(roles or ("none",)), *roles))
    return client


def test_the_page_shows_backlog_runs_and_rules(books):
    books.book(("ACC-001", "BRKR-B", "AAPL", "BUY", "10", "100"))
    client = _client("accounting")
    page = client.get("/accounting/posting/").content.decode()
    assert "Waiting to be posted" in page and "TRADE_BUY" in page and "Post now" in page
    post()
    run(posting.MARK_TO_MARKET, as_of="2026-11-20")
    page = client.get("/accounting/posting/").content.decode()
    assert "Mark to market" in page and "2026-11-20" in page


def test_buttons_start_runs(books):
    client = _client("operations")
    with mock.patch("backoffice.core.jobs.services._enqueue"):
        assert client.post("/accounting/posting/post/").status_code == 302
        page = client.post("/accounting/posting/post/", follow=True).content.decode()
        assert "A posting run is already queued" in page
        assert client.post("/accounting/posting/valuation/", {"as_of": "2026-11-20", "what": "eod"}).status_code == 302
        bad = client.post("/accounting/posting/valuation/", {"as_of": "2999-01-01", "what": "mtm"})
    assert bad.status_code == 400 and "future" in bad.content.decode()
    assert sorted(JobRun.objects.values_list("kind", flat=True)) == ["accounting-eod", "accounting-posting"]


def test_readers_cannot_start_and_strangers_are_sent_to_login(books):
    assert _client("compliance").post("/accounting/posting/post/").status_code == 403
    assert _client("front_office").get("/accounting/posting/").status_code == 403
    assert Client().get("/accounting/posting/").status_code == 302
