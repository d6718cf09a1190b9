"""Every dashboard page and every API list answers in a number of queries that does not grow with its rows.

Over the demo firm as `make run` loads it (smaller: 300 trades), each page of the navigation and each list
endpoint under /api/v1/ is fetched twice, with pages of 5 rows and of 60: the same number of queries both
times (no query per row shown: no N+1), and never more than a page's bound. What a page costs whatever the
size of the tables behind it is the other half of staying fast on big data (docs/scaling.md).
"""

import re

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver

from accounting.models import JournalLine
from backoffice import navigation
from backoffice.core import forms, keyset
from backoffice.launcher import demo_commands
from records.approvals import views as approval_views
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

PAGE_BOUND = 40  # queries for any one page (session, user and groups, navigation, filters, the page, totals...)
API_BOUND = 12  # queries for one page of any list endpoint (token, user, groups, count, the page, related rows)
SMALL, LARGE = 5, 60


@pytest.fixture
def demo_firm():
    """The demo chain of `make run` (backoffice/launcher.py), on 300 trades: every page has rows to show."""
    for command in demo_commands("300"):
        call_command(*command, stdout=open("/dev/null", "w"))  # noqa: SIM115 - closed with the process


def _sized(monkeypatch, size: int) -> None:
    monkeypatch.setattr(forms, "PAGE_SIZE", size)
    monkeypatch.setattr(keyset, "PAGE_SIZE", size)
    monkeypatch.setattr(approval_views, "PAGE_SIZE", size)


def _count(client, url: str) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    return response.status_code, len(queries)


def _pages() -> list[str]:
    # An entry whose page is not registered is not shown either (navigation leaves it out).
    urls = [navigation._reverse_or_none(entry.url_name) for section in navigation.NAV for entry in section.entries]
    return [url for url in urls if url]


def _api_lists() -> list[str]:
    """The GET endpoints under /api/v1/ that take no path parameter (lists, summaries, reports)."""
    found = []

    def walk(patterns, prefix):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern) and route.startswith("api/v1/") and "<" not in route \
                    and "(?P" not in route:
                found.append("/" + re.sub(r"[\^$]|\\Z", "", route))

    walk(get_resolver().url_patterns, "")
    return sorted(set(found))


def _page_failures(client, monkeypatch) -> list[str]:
    failures = []
    pages = _pages()
    assert len(pages) >= 30
    for url in pages:
        _sized(monkeypatch, SMALL)
        status_small, small = _count(client, url)
        _sized(monkeypatch, LARGE)
        status_large, large = _count(client, url)
        if (status_small, status_large) != (200, 200):
            failures.append(f"{url}: {status_small}/{status_large}")
        elif small != large or large > PAGE_BOUND:
            failures.append(f"{url}: {small} queries with {SMALL} rows a page, {large} with {LARGE}")
    return failures


def _required(url: str) -> str | None:
    """The query an endpoint cannot answer without: the ledger of the GL account with the most lines."""
    if url == "/api/v1/accounting/ledger/":
        busiest = (JournalLine.objects.values("gl_account__code").annotate(n=Count("id")).order_by("-n")
                   .values_list("gl_account__code", flat=True).first())
        return f"gl_account={busiest}&"
    return ""


NOT_LISTS = {"/api/v1/settlement-date/"}  # a calculator: instrument and trade date in, one date out


def _api_failures(client) -> list[str]:
    failures = []
    lists = [url for url in _api_lists() if url not in NOT_LISTS]
    assert "/api/v1/trades/" in lists
    for path in lists:
        url = f"{path}?{_required(path)}"
        status_small, small = _count(client, f"{url}page_size={SMALL}")
        if status_small == 405:  # POST only
            continue
        status_large, large = _count(client, f"{url}page_size={LARGE}")
        if status_small != 200 or status_large != 200:
            failures.append(f"{url}: {status_small}/{status_large}")
        elif small != large or large > API_BOUND:
            failures.append(f"{url}: {small} queries with {SMALL} rows a page, {large} with {LARGE}")
    return failures


def test_no_page_and_no_api_list_costs_a_query_per_row(demo_firm, client, monkeypatch):
    """One test over one demo load (it takes most of the time)."""
    client.force_login(make_user("qb-admin", superuser=True))
    assert _page_failures(client, monkeypatch) + _api_failures(client) == []
