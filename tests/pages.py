"""What the dashboard page tests share: a small book with known figures, a signed-in client, readers of the HTML.

The fixtures (book, operator, signed_in) are offered to the page tests of tests/records/ and tests/backoffice/
by their conftest.py, which import them from here: tests/browser/ has an `operator` of its own.
"""

from dataclasses import dataclass
from datetime import date, timedelta

import lxml.html
import pytest
from django.db import transaction
from django.utils import timezone

from records.reference.services import reference
from tests.conftest import make_user
from tests.data import cash, price, stock


@dataclass(frozen=True)
class Book:
    today: date
    d0: date  # the latest pricing date
    d1: date  # the one before


@pytest.fixture
def book(instruments, accounts, counterparties) -> Book:
    """Four instruments, three accounts (one suspended), a CCP and a broker, prices on two days,
    cash in two currencies and two open positions (plus a flat one)."""
    today = timezone.localdate()
    d0, d1 = today - timedelta(days=1), today - timedelta(days=2)
    with transaction.atomic():
        reference.account_create(actor="test", code="ACC-002", name="Client Two", kind="CLIENT",
                                 base_currency="EUR", status="SUSPENDED")
        price(instruments["AAPL"], d1, "189.25")
        price(instruments["AAPL"], d0, "190.10")
        price(instruments["MSFT"], d0, "415.50")
        price(instruments["SAP"], d1, "187.36")
        cash(accounts["ACC-001"], "USD", "1000", "CASH-1", value_date=d1)
        cash(accounts["ACC-001"], "EUR", "250.50", "CASH-2", value_date=d1)
        cash(accounts["HOUSE"], "USD", "5000000", "CASH-3", value_date=d1)
        cash(accounts["HOUSE"], "USD", "-1000.25", "CASH-4", value_date=d0)
        stock(accounts["HOUSE"], instruments["AAPL"], "100", "STOCK-1", value_date=d1)
        stock(accounts["HOUSE"], instruments["SAP"], "50", "STOCK-2", value_date=d1)
        stock(accounts["ACC-001"], instruments["MSFT"], "10", "STOCK-3", value_date=d1)
        stock(accounts["ACC-001"], instruments["MSFT"], "-10", "STOCK-4", value_date=d0)
    return Book(today=today, d0=d0, d1=d1)


@pytest.fixture
def operator(db):
    return make_user("ops-dash", "operations")


@pytest.fixture
def signed_in(client, operator):
    client.force_login(operator)
    return client


def table_rows(response, table_id: str, *, section: str = "tbody") -> list[list[str]]:
    """Return the text of every cell of a table section, row by row (empty-state rows excluded)."""
    assert response.status_code == 200, response.status_code
    doc = lxml.html.fromstring(response.content.decode())
    rows = []
    for tr in doc.xpath(f'//table[@id="{table_id}"]/{section}/tr'):
        if tr.xpath('./td[contains(@class, "empty")]'):
            continue
        rows.append([" ".join(cell.text_content().split()) for cell in tr.xpath("./td|./th")])
    return rows


def column(response, table_id: str, index: int = 0) -> list[str]:
    return [row[index] for row in table_rows(response, table_id)]


def figures(response) -> dict[str, str]:
    doc = lxml.html.fromstring(response.content.decode())
    return {el.get("data-figure"): " ".join(el.text_content().split()) for el in doc.xpath("//*[@data-figure]")}


def nav_links(response) -> list[tuple[str, str, bool]]:
    """(label, href, active) of every navigation link on the page."""
    doc = lxml.html.fromstring(response.content.decode())
    return [(a.text_content().strip(), a.get("href"), "active" in (a.get("class") or "").split())
            for a in doc.xpath('//nav[contains(@class, "sidenav")]//a')]
