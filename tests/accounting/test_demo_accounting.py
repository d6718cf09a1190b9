# ruff: noqa: F811 - the fixtures imported from the helpers are parameters of the tests
"""The accounting demo and the accounting_eod command: the books closed day by day, zero breaks, safe to rerun."""

from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from accounting import demo
from backoffice.core.jobs.models import JobRun
from records.reference.models import Price
from tests.accounting.helpers_posting import rate
from tests.data import price
from tests.settlements.helpers_settlement import (  # noqa: F401
    SETTLES,
    TRADE_DATE,
    book_and_instruct,
    firm,
    fund,
    hold,
    own_steps_only,
    settle,
)

pytestmark = pytest.mark.django_db


def test_the_demo_values_openings_dated_before_the_price_history_and_closes_each_day_without_breaks(firm):
    hold(firm, "HOUSE", "AAPL", "100")  # valued on TRADE_DATE, two days before the first price
    fund(firm, "HOUSE", "1000", "EUR")
    with transaction.atomic():
        price(firm.instruments["AAPL"], SETTLES - timedelta(days=1), "10")
        price(firm.instruments["AAPL"], SETTLES, "11")
        rate("EUR", "USD", SETTLES, "1.1")
    book_and_instruct(firm, ("HOUSE", "BRKR-B", "AAPL", "SELL", "40", "10.5"))
    settle()
    summary = demo.load_accounting_demo(today=SETTLES + timedelta(days=1))
    assert Price.objects.filter(source=demo.OPENING_SOURCE, price_date=TRADE_DATE).count() == 1
    assert summary.opening == (1, 1)
    assert [(day, breaks, status) for day, _entries, _unposted, breaks, status in summary.days] == [
        ("2026-11-20", 0, "COMPLETED"), ("2026-11-23", 0, "COMPLETED")]
    assert demo.load_accounting_demo(today=SETTLES + timedelta(days=1)).days == []


def test_the_command_runs_the_end_of_day_here_and_reports_it(firm):
    fund(firm, "ACC-001", "1000")
    out = StringIO()
    call_command("accounting_eod", "--date", "2026-11-20", "--now", stdout=out)
    text = out.getvalue()
    assert "accounting-eod job" in text and "COMPLETED" in text
    assert "  post: by_rule {'CASH_FUNDS': 1}, entries 1\n" in text and "balances_checked 1\n" in text
    assert JobRun.objects.get(kind="accounting-eod").status == "COMPLETED"
    out = StringIO()
    call_command("accounting_eod", "--post-only", "--now", stdout=out)
    assert "accounting-posting job" in out.getvalue()


def test_the_command_refuses_a_bad_date(db):
    with pytest.raises(CommandError, match=r"YYYY-MM-DD|date"):
        call_command("accounting_eod", "--date", "2026-13-01", "--now")
    tomorrow = (date.today() + timedelta(days=2)).isoformat()
    with pytest.raises(CommandError, match="future"):
        call_command("accounting_eod", "--date", tomorrow, "--now")
