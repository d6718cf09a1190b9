"""The ledger's pages (accounting.reports.selectors.LedgerLines) give exactly what the window over the whole ledger
gives (ledger_lines): the same lines in the same order, the same running balances, on every page, for every filter;
and the openings and closings read from the day totals equal the lines' own sums."""

import itertools

import pytest
from django.db.models import F, Sum

from accounting.models import GLAccount, JournalLine
from accounting.reports import selectors
from tests.accounting.test_selectors_reports import DAY2, build_ledger, mark_to_market

pytestmark = pytest.mark.django_db


def _window(**scope) -> list[tuple]:
    return [(line.pk, line.running, line.running_base) for line in selectors.ledger_lines(**scope)]


def _lines_sum(gl_account, account, currency, **dates) -> dict:
    lines = JournalLine.objects.filter(gl_account=gl_account, **dates)
    if account is not None:
        lines = lines.filter(account=account)
    if currency is not None:
        lines = lines.filter(currency=currency)
    return {row["currency"]: (row["amount"], row["base"]) for row in
            lines.values("currency").order_by().annotate(amount=Sum("amount"), base=Sum("base_amount"))}


def test_every_page_of_every_filter_equals_the_window_over_the_whole_ledger(accounts, instruments):
    build_ledger(accounts, instruments)
    used = GLAccount.objects.filter(pk__in=JournalLine.objects.values("gl_account_id"))
    assert used.count() >= 4
    checked = 0
    for gl_account, account, currency, date_from, date_to in itertools.product(
            used, (None, accounts["ACC-001"]), (None, "USD", "EUR"), (None, DAY2), (None, DAY2)):
        scope = {"gl_account": gl_account, "account": account, "currency": currency, "date_from": date_from,
                 "date_to": date_to}
        expected = _window(**scope)
        pages = selectors.LedgerLines(**scope)
        assert pages.count() == len(expected)
        for size in (1, 2, 3, 50):
            got = [(line.pk, line.running, line.running_base)
                   for start in range(0, len(expected), size) for line in pages[start:start + size]]
            assert got == expected, scope
        opening = {b.currency: (b.balance, b.base_balance)
                   for b in selectors.ledger_opening(gl_account=gl_account, account=account, currency=currency,
                                                     date_from=date_from)}
        assert opening == ({} if date_from is None else
                           _lines_sum(gl_account, account, currency, entry_date__lt=date_from))
        closing = {b.currency: (b.balance, b.base_balance)
                   for b in selectors.ledger_closing(gl_account=gl_account, account=account, currency=currency,
                                                     date_to=date_to)}
        assert closing == _lines_sum(gl_account, account, currency,
                                     **({} if date_to is None else {"entry_date__lte": date_to}))
        checked += bool(expected)
    assert checked > 20


def test_the_pnl_from_the_position_totals_equals_the_pnl_from_the_lines(accounts, instruments):
    """Rows, totals and sums per instrument: for every filter, the position totals (today's P&L) and the lines give
    the same figures; an as-of date before the latest line reads the lines."""
    ledger = build_ledger(accounts, instruments)
    latest = JournalLine.objects.order_by("-entry_date").values_list("entry_date", flat=True).first()
    assert selectors._totals_cover(latest) and not selectors._totals_cover(DAY2)
    assert not hasattr(selectors.pnl_list(as_of=DAY2), "pnl_scope")
    compared = 0
    for account, instrument in itertools.product((None, *ledger.accounts.values()),
                                                 (None, *ledger.instruments.values())):
        both = [selectors._pnl_rows(as_of=latest, account=account, instrument=instrument, from_totals=from_totals)
                for from_totals in (True, False)]
        assert list(both[0]) == list(both[1])
        assert selectors.pnl_totals(both[0]) == selectors.pnl_totals(both[1])
        assert selectors.pnl_by_instrument(both[0]) == selectors.pnl_by_instrument(both[1])
        compared += len(list(both[0]))
    assert compared >= 8


def test_the_pnl_over_time_of_the_firm_from_the_day_totals_equals_the_lines(accounts, instruments, monkeypatch):
    """pnl_by_day reads the day totals for the whole firm; the same over the lines (as for one account) agrees."""
    mark_to_market(build_ledger(accounts, instruments))
    latest = JournalLine.objects.order_by("-entry_date").values_list("entry_date", flat=True).first()
    for as_of in (DAY2, latest):
        from_totals = selectors.pnl_by_day(as_of=as_of)
        # The lines' path, for the whole firm: _day_totals answering with the lines is what the filter path does.
        monkeypatch.setattr(selectors, "_day_totals", lambda date_to=None, **kw: JournalLine.objects.filter(
            entry_date__lte=date_to).annotate(rule=F("entry__rule")))
        from_lines = selectors.pnl_by_day(as_of=as_of)
        monkeypatch.undo()
        assert from_totals == from_lines
        assert from_totals

