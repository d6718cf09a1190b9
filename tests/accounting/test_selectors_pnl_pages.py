"""The P&L page on a big book: what it reads once instead of twice, and its rows, held to the ordinary path."""

import itertools

import pytest

from accounting.models import JournalLine
from accounting.reports import selectors
from tests.accounting.factories import post_entry
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


def _sums_of(rows: list[dict]) -> list[dict]:
    """pnl_list's rows summed per instrument and currency in Python, as SQL's SUM would (None only where every
    row's figure is None): the oracle of pnl_by_instrument."""
    groups: dict[tuple, dict] = {}
    for row in rows:
        key = (row["isin"], row["symbol"], row["currency"])
        total = groups.setdefault(key, {"isin": key[0], "symbol": key[1], "currency": key[2],
                                        **dict.fromkeys(selectors.PNL_FIGURES), "unpriced": 0})
        for name in selectors.PNL_FIGURES:
            if row[name] is not None:
                total[name] = row[name] if total[name] is None else total[name] + row[name]
        total["unpriced"] += row["market_value"] is None
    nulls_last = lambda key: tuple((value is None, value or "") for value in key)  # noqa: E731 - ORDER BY's order
    return [groups[key] for key in sorted(groups, key=nulls_last)]


def test_the_sums_per_instrument_over_the_position_totals_are_the_sums_of_the_rows(accounts, instruments):
    """pnl_by_instrument sums the position totals' columns once per instrument and derives unrealized and net
    from those sums: exactly the per-row figures of pnl_list added up, priced, unpriced and flat rows alike."""
    ledger = build_ledger(accounts, instruments)
    latest = JournalLine.objects.order_by("-entry_date").values_list("entry_date", flat=True).first()
    for instrument in ledger.instruments.values():  # flat positions with a cost left, priced or not
        post_entry(lines=[("INVESTMENTS", "1000", "10"), ("SECURITIES_CONTRIBUTED", "-1000")], entry_date=latest,
                   account=ledger.accounts["HOUSE"], instrument=instrument, rule="FEE", source_type="MANUAL")
        post_entry(lines=[("INVESTMENTS", "-900", "-10"), ("SECURITIES_CONTRIBUTED", "1000"),
                          ("REALIZED_PNL", "-100")], entry_date=latest, account=ledger.accounts["HOUSE"],
                   instrument=instrument, rule="FEE", source_type="MANUAL")
    seen = {"unpriced": 0, "flat": 0, "priced": 0}
    for account, instrument in itertools.product((None, *ledger.accounts.values()),
                                                 (None, *ledger.instruments.values())):
        rows = selectors.pnl_list(as_of=latest, account=account, instrument=instrument)
        assert hasattr(rows, "pnl_scope")  # the position totals' path
        listed = list(rows)
        assert selectors.pnl_by_instrument(rows) == _sums_of(listed), (account, instrument)
        for row in listed:
            seen["unpriced"] += row["market_value"] is None
            seen["flat"] += row["quantity"] == 0
            seen["priced"] += row["price"] is not None and row["quantity"] != 0
    assert all(seen.values()), seen


def test_every_page_of_every_filter_is_the_querysets_slice(accounts, instruments):
    """PnlPages finds a page's rows by their keys: every slice of every filter holds the same rows in the same order
    as slicing the QuerySet, rows without a trading account or an instrument (after every account's) included."""
    ledger = build_ledger(accounts, instruments)
    acc, house, aapl = ledger.accounts["ACC-001"], ledger.accounts["HOUSE"], ledger.instruments["AAPL"]
    latest = JournalLine.objects.order_by("-entry_date").values_list("entry_date", flat=True).first()
    for account, instrument, commission in ((None, None, "3"), (None, aapl, "4"), (house, None, "6"),
                                            (acc, aapl, "7"), (None, None, "8")):
        post_entry(lines=[("COMMISSION_EXPENSE", commission), ("COMMISSIONS_PAYABLE", f"-{commission}")],
                   entry_date=latest, account=account, instrument=instrument, currency="EUR" if commission == "8"
                   else "USD", rule="FEE", source_type="MANUAL")
    compared = 0
    for account, instrument in itertools.product((None, *ledger.accounts.values()),
                                                 (None, *ledger.instruments.values())):
        rows = selectors.pnl_list(as_of=latest, account=account, instrument=instrument)
        pages = selectors.pnl_pages(rows)
        assert isinstance(pages, selectors.PnlPages)
        expected = list(rows)
        assert pages.count() == len(expected)
        for size in (1, 2, 3, 50):
            got = [row for start in range(0, len(expected) + size, size) for row in pages[start:start + size]]
            assert got == expected, (account, instrument, size)
        compared += len(expected)
    assert compared >= 10
    everything = selectors.pnl_list(as_of=latest)
    assert [row["account_code"] for row in everything][-2:] == [None, None]  # no trading account: last
    assert selectors.pnl_pages(selectors.pnl_list(as_of=DAY2)).__class__ is not selectors.PnlPages  # the lines
