# ruff: noqa: F811 - the fixtures imported from the helpers are parameters of the tests
"""The posting backlog counted from accounting_postingbacklog (kept by triggers, migration accounting 0008) equals
the engine's anti-joins over every event, after every step of random blotters; and the table empties as the
ledger catches up, so that the count reads a handful of rows."""

import os
from decimal import Decimal as D

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings

from accounting.posting import selectors
from records.trades import services as trade_services
from tests.accounting.helpers_posting import books, post, rate  # noqa: F401 - fixtures
from tests.accounting.test_properties_ledger import (  # noqa: F401 - ledger_firm: a fixture
    AS_OF_DAY,
    SETTLEMENT_DAYS,
    Rollback,
    Scenario,
    everything,
    ledger_firm,
    methods,
)
from tests.clearing.helpers_netting import TRADE_DATE, firm  # noqa: F401 - fixture
from tests.settlements.helpers_settlement import fund, hold

pytestmark = pytest.mark.django_db


def backlog_rows() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM accounting_postingbacklog")
        return cursor.fetchone()[0]


def assert_backlog_exact() -> dict:
    fast, slow = selectors.posting_backlog(), selectors.posting_backlog(everything=True)
    assert fast == slow
    return fast


def test_the_backlog_counts_what_waits_and_the_table_empties_as_the_ledger_catches_up(books):
    assert assert_backlog_exact() == dict.fromkeys(selectors.BACKLOG_LABELS, 0)
    buy, _ = books.book(("ACC-001", "BRKR-B", "AAPL", "BUY", "10", "100"),
                        ("ACC-001", "BRKR-B", "AAPL", "SELL", "5", "110"))
    hold(books, "HOUSE", "SAP", "100")
    fund(books, "HOUSE", "1000", "EUR")
    fund(books, "HOUSE", "1000", "CHF")  # no CHF rate: waits
    backlog = assert_backlog_exact()
    assert (backlog["trades"], backlog["stock movements"], backlog["cash movements"]) == (2, 1, 2)

    post()

    assert assert_backlog_exact() == {**dict.fromkeys(selectors.BACKLOG_LABELS, 0), "cash movements": 1}
    assert backlog_rows() == 1  # the CHF deposit, until its rate is stored
    with transaction.atomic():
        trade_services.trade_cancel(actor=books.ops, trade_id=buy, reason="booked twice")
    assert assert_backlog_exact()["trades"] == 1
    rate("CHF", "USD", TRADE_DATE, "1.10")
    post()

    assert assert_backlog_exact() == dict.fromkeys(selectors.BACKLOG_LABELS, 0)
    assert backlog_rows() == 0


@settings(max_examples=int(os.environ.get("LEDGER_EXAMPLES", 30)) // 2, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=everything, cost_methods=methods)
def test_after_every_step_of_a_random_blotter_the_backlog_equals_the_count_over_every_event(ledger_firm, steps,
                                                                                           cost_methods):
    try:
        with transaction.atomic():
            scenario = Scenario(ledger_firm, cost_methods)
            for op in steps:
                scenario.step(op)
                assert_backlog_exact()
            scenario.post()
            assert_backlog_exact()
            raise Rollback
    except Rollback:
        pass


def test_netting_settlement_and_posting_leave_no_row_behind(ledger_firm):
    """Every trigger prunes: trades, stock movements, obligations and settlement movements netted, settled and
    posted leave the table empty."""
    try:
        with transaction.atomic():
            scenario = Scenario(ledger_firm, {"ACC-001": "FIFO", "HOUSE": "AVERAGE"})
            for op in [("fund", "ACC-001", "USD", D("100000")), ("stock", "HOUSE", "MSFT", D("50"), AS_OF_DAY),
                       ("book", "ACC-001", "AAPL", "BUY", D("10"), D("100"), D("1"), TRADE_DATE),
                       ("book", "HOUSE", "MSFT", "SELL", D("5"), D("400"), D("0"), TRADE_DATE),
                       *[("settle", day) for day in SETTLEMENT_DAYS]]:
                scenario.step(op)
            waiting = assert_backlog_exact()
            assert waiting["trades"] == 2 and waiting["stock movements"] == 1 and waiting["cash movements"] == 1
            assert waiting["obligations"] + waiting["settlement movements"] > 0
            scenario.post()
            assert assert_backlog_exact() == dict.fromkeys(selectors.BACKLOG_LABELS, 0)
            assert backlog_rows() == 0
            raise Rollback
    except Rollback:
        pass
