"""The P&L page on a big book: what it reads once instead of twice, and its rows, held to the ordinary path."""

import itertools

import pytest

from accounting.models import JournalLine
from accounting.reports import selectors
from tests.accounting.test_selectors_reports import DAY2, build_ledger

pytestmark = pytest.mark.django_db


def test_the_totals_summed_from_the_sums_per_instrument_equal_the_totals_over_every_row(accounts, instruments):
    """The page sums the rows once per instrument and adds those up per currency: the same figures as pnl_totals
    over every row, unpriced rows and currencies with nothing priced (None) included, on both paths."""
    ledger = build_ledger(accounts, instruments)
    latest = JournalLine.objects.order_by("-entry_date").values_list("entry_date", flat=True).first()
    compared = 0
    for as_of, account, instrument in itertools.product((DAY2, latest), (None, *ledger.accounts.values()),
                                                        (None, *ledger.instruments.values())):
        rows = selectors.pnl_list(as_of=as_of, account=account, instrument=instrument)
        totals = selectors.pnl_totals(rows)
        assert selectors.pnl_totals_of(selectors.pnl_by_instrument(rows)) == totals
        compared += len(totals)
    assert compared >= 8
    unpriced = [total for total in selectors.pnl_totals(selectors.pnl_list(as_of=DAY2)) if total["unpriced"]]
    assert unpriced and unpriced[0]["unrealized"] is None
