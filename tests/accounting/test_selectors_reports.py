"""The reports' reads of the ledger: trial balance, a GL account's ledger, P&L, income statement, balance sheet.

One small book (`ledger`) with known figures, posted through the real writer:
- DAY1: ACC-001 deposits 10,000 USD; buys 100 AAPL at 150 (commission 10).
- DAY2: ACC-001 sells 40 AAPL at 170 (cost 6,000: realized +800, commission 5); HOUSE buys 10 SAP at
  200 EUR (EUR/USD 1.1: 2,200 in base).
- DAY3 (after the usual as_of): ACC-001 sells 10 AAPL at 140 (cost 1,500: realized -100).
AAPL is priced 150 on DAY1, 175 on DAY2 and 160 on DAY3; SAP never.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import transaction

from accounting.models import GLAccount, JournalEntry
from accounting.reports import selectors
from records.reference.services.reference import fx_rate_upsert
from tests.accounting.factories import post_entry
from tests.data import price

pytestmark = pytest.mark.django_db

DAY1, DAY2, DAY3 = date(2026, 11, 2), date(2026, 11, 10), date(2026, 11, 20)
D = Decimal


@dataclass
class Ledger:
    accounts: dict
    instruments: dict
    deposit: JournalEntry
    buy: JournalEntry
    sell: JournalEntry
    sap_buy: JournalEntry
    late_sell: JournalEntry


@pytest.fixture
def ledger(accounts, instruments) -> Ledger:
    return build_ledger(accounts, instruments)


def build_ledger(accounts, instruments) -> Ledger:
    """Post the book of the module doc (the API and page tests use it too)."""
    acc, house = accounts["ACC-001"], accounts["HOUSE"]
    aapl, sap = instruments["AAPL"], instruments["SAP"]
    with transaction.atomic():
        fx_rate_upsert(actor="test", base_currency="EUR", quote_currency="USD", rate_date=DAY1, rate=D("1.1"))
        price(aapl, DAY1, "150")
        price(aapl, DAY2, "175")
        price(aapl, DAY3, "160")
    deposit = post_entry(lines=[("CASH", "10000"), ("ACCOUNT_FUNDS", "-10000")], entry_date=DAY1, account=acc,
                         rule="CASH_FUNDS", source_type="CASH", description="deposit")
    buy = post_entry(lines=[("INVESTMENTS", "15000", "100"), ("PAYABLE_PURCHASES", "-15000"),
                            ("COMMISSION_EXPENSE", "10"), ("COMMISSIONS_PAYABLE", "-10")],
                     entry_date=DAY1, account=acc, instrument=aapl, rule="TRADE_BUY", source_type="TRADE",
                     description="buy 100 AAPL")
    sell = post_entry(lines=[("RECEIVABLE_SALES", "6800"), ("INVESTMENTS", "-6800", "-40"),
                             ("INVESTMENTS", "800"), ("REALIZED_PNL", "-800"),
                             ("COMMISSION_EXPENSE", "5"), ("COMMISSIONS_PAYABLE", "-5")],
                      entry_date=DAY2, account=acc, instrument=aapl, rule="TRADE_SELL", source_type="TRADE",
                      description="sell 40 AAPL")
    sap_buy = post_entry(lines=[("INVESTMENTS", "2000", "10"), ("PAYABLE_PURCHASES", "-2000")], entry_date=DAY2,
                         currency="EUR", account=house, instrument=sap, rule="TRADE_BUY", source_type="TRADE",
                         description="buy 10 SAP")
    late_sell = post_entry(lines=[("RECEIVABLE_SALES", "1400"), ("INVESTMENTS", "-1400", "-10"),
                                  ("REALIZED_PNL", "100"), ("INVESTMENTS", "-100")],
                           entry_date=DAY3, account=acc, instrument=aapl, rule="TRADE_SELL", source_type="TRADE",
                           description="sell 10 AAPL")
    return Ledger(accounts=accounts, instruments=instruments, deposit=deposit, buy=buy, sell=sell, sap_buy=sap_buy,
                  late_sell=late_sell)


def _tb(**filters):
    return {(row["gl_code"], row["currency"]): row for row in selectors.trial_balance(**filters)}


# --- trial balance ---

def test_trial_balance_has_one_row_per_gl_account_and_currency_as_of_the_date(ledger):
    rows = _tb(as_of=DAY2)
    assert {key: (row["debit"], row["credit"], row["balance"]) for key, row in rows.items()} == {
        ("1100", "USD"): (D("10000"), D(0), D("10000")),
        ("1200", "USD"): (D("6800"), D(0), D("6800")),
        ("1300", "EUR"): (D("2000"), D(0), D("2000")),
        ("1300", "USD"): (D("9000"), D(0), D("9000")),
        ("2100", "EUR"): (D(0), D("2000"), D("-2000")),
        ("2100", "USD"): (D(0), D("15000"), D("-15000")),
        ("2150", "USD"): (D(0), D("15"), D("-15")),
        ("2300", "USD"): (D(0), D("10000"), D("-10000")),
        ("4100", "USD"): (D(0), D("800"), D("-800")),
        ("5100", "USD"): (D("15"), D(0), D("15")),
    }
    sap = rows[("1300", "EUR")]
    assert (sap["base_debit"], sap["base_credit"], sap["base_balance"]) == (D("2200"), D(0), D("2200"))
    payable = rows[("2100", "EUR")]
    assert (payable["base_credit"], payable["gl_name"], payable["gl_type"]) == (
        D("2200"), "Payable for securities purchased", "LIABILITY")


def test_trial_balance_nets_to_zero_per_currency_and_in_base(ledger):
    for as_of in (DAY1, DAY2, DAY3):
        totals = selectors.trial_balance_totals(selectors.trial_balance(as_of=as_of))
        for row in totals["per_currency"]:
            assert row["debit"] == row["credit"], (as_of, row)
        assert totals["base"]["debit"] == totals["base"]["credit"]
    totals = selectors.trial_balance_totals(selectors.trial_balance(as_of=DAY2))
    assert totals == {"per_currency": [{"currency": "EUR", "debit": D("2000"), "credit": D("2000")},
                                       {"currency": "USD", "debit": D("25815"), "credit": D("25815")}],
                      "base": {"debit": D("28015"), "credit": D("28015")}}


def test_trial_balance_as_of_excludes_later_lines(ledger):
    assert ("1200", "USD") not in _tb(as_of=DAY1)
    assert _tb(as_of=DAY1)[("1300", "USD")]["balance"] == D("15000")
    assert _tb(as_of=DAY2)[("1300", "USD")]["balance"] == D("9000")
    assert _tb(as_of=DAY3)[("1300", "USD")]["balance"] == D("7500")
    assert _tb(as_of=DAY3)[("4100", "USD")]["balance"] == D("-700")
    assert _tb(as_of=date(2026, 11, 1)) == {}


def test_trial_balance_filters_by_trading_account_and_currency(ledger):
    assert set(_tb(as_of=DAY2, account=ledger.accounts["HOUSE"])) == {("1300", "EUR"), ("2100", "EUR")}
    usd = _tb(as_of=DAY2, currency="USD")
    assert {currency for _code, currency in usd} == {"USD"} and len(usd) == 8


# --- ledger of a GL account ---

def test_ledger_running_balance_per_currency_in_entry_order(ledger):
    investments = GLAccount.objects.get(role="INVESTMENTS")
    lines = list(selectors.ledger_lines(gl_account=investments))
    assert [(line.entry_id, line.currency, line.amount, line.running) for line in lines] == [
        (ledger.buy.pk, "USD", D("15000"), D("15000")),
        (ledger.sell.pk, "USD", D("-6800"), D("8200")),
        (ledger.sell.pk, "USD", D("800"), D("9000")),
        (ledger.sap_buy.pk, "EUR", D("2000"), D("2000")),
        (ledger.late_sell.pk, "USD", D("-1400"), D("7600")),
        (ledger.late_sell.pk, "USD", D("-100"), D("7500")),
    ]
    assert [line.running_base for line in lines] == [D("15000"), D("8200"), D("9000"), D("11200"), D("9800"),
                                                     D("9700")]


def test_ledger_opening_and_closing_balances_around_the_range(ledger):
    investments = GLAccount.objects.get(role="INVESTMENTS")
    opening = selectors.ledger_opening(gl_account=investments, date_from=DAY2)
    assert [(b.currency, b.balance, b.base_balance) for b in opening] == [("USD", D("15000"), D("15000"))]
    lines = list(selectors.ledger_lines(gl_account=investments, currency="USD", date_from=DAY2, date_to=DAY2))
    assert [line.running for line in lines] == [D("-6800"), D("-6000")]  # opening 15,000 added by the caller
    closing = selectors.ledger_closing(gl_account=investments, currency="USD", date_to=DAY2)
    assert [(b.currency, b.balance) for b in closing] == [("USD", D("9000"))]
    assert selectors.ledger_opening(gl_account=investments, date_from=None) == []


# --- P&L ---

def test_pnl_per_account_and_instrument_as_of_a_date(ledger):
    rows = list(selectors.pnl_list(as_of=DAY2))
    assert [(r["account_code"], r["isin"], r["currency"]) for r in rows] == [
        ("ACC-001", ledger.instruments["AAPL"].isin, "USD"), ("HOUSE", ledger.instruments["SAP"].isin, "EUR")]
    aapl, sap = rows
    assert {name: aapl[name] for name in ("realized", "commissions", "quantity", "cost", "price", "market_value",
                                          "unrealized", "net")} == {
        "realized": D("800"), "commissions": D("15"), "quantity": D("60"), "cost": D("9000"), "price": D("175"),
        "market_value": D("10500"), "unrealized": D("1500"), "net": D("2285")}
    assert aapl["price_date"] == DAY2
    assert (sap["quantity"], sap["cost"], sap["price"], sap["market_value"], sap["unrealized"], sap["net"]) == (
        D("10"), D("2000"), None, None, None, D(0))


def test_pnl_later_sale_and_price_count_only_from_their_date(ledger):
    (aapl,) = selectors.pnl_list(as_of=DAY3, instrument=ledger.instruments["AAPL"])
    assert (aapl["realized"], aapl["quantity"], aapl["cost"], aapl["price"], aapl["unrealized"], aapl["net"]) == (
        D("700"), D("50"), D("7500"), D("160"), D("500"), D("1185"))
    (early,) = selectors.pnl_list(as_of=DAY1, account=ledger.accounts["ACC-001"])
    assert (early["realized"], early["quantity"], early["unrealized"], early["net"]) == (
        D(0), D("100"), D(0), D("-10"))


def test_pnl_market_value_rounds_to_four_places_half_away_from_zero(ledger):
    with transaction.atomic():
        price(ledger.instruments["AAPL"], DAY2, "175.000015")
    (aapl,) = selectors.pnl_list(as_of=DAY2, account=ledger.accounts["ACC-001"])
    assert aapl["market_value"] == D("10500.0009")  # 60 x 175.000015 = 10500.0009
    assert aapl["unrealized"] == D("1500.0009")


def test_pnl_totals_per_currency_count_unpriced_rows(ledger):
    rows = selectors.pnl_list(as_of=DAY2)
    totals = {row["currency"]: row for row in selectors.pnl_totals(rows)}
    assert (totals["USD"]["realized"], totals["USD"]["unrealized"], totals["USD"]["net"],
            totals["USD"]["unpriced"]) == (D("800"), D("1500"), D("2285"), 0)
    assert (totals["EUR"]["cost"], totals["EUR"]["unrealized"], totals["EUR"]["unpriced"]) == (D("2000"), None, 1)
    by_instrument = {row["symbol"]: row["net"] for row in selectors.pnl_by_instrument(rows)}
    assert by_instrument == {"AAPL": D("2285"), "SAP": D(0)}


# --- P&L over time: realized to date, and total with the unrealized of each mark to market ---

MTM_DAY0, MTM_DAY_LOSS = date(2026, 11, 4), date(2026, 11, 15)


def post_mark_to_market(day: date, unrealized: str, *, account, instrument, currency: str = "USD") -> JournalEntry:
    """Post a day's MTM entry as the valuation job does (Dr valuation / Cr unrealized gain: a loss the other way)
    and its reversal, dated the next day."""
    gain = D(unrealized)
    entry = post_entry(rule="MTM", source_type="MTM", lines=[("VALUATION", gain), ("UNREALIZED_PNL", -gain)],
                       entry_date=day, currency=currency, account=account, instrument=instrument,
                       description=f"Mark to market {day.isoformat()}")
    post_entry(rule="MTM_REVERSAL", source_type="MTM", lines=[("VALUATION", -gain), ("UNREALIZED_PNL", gain)],
               entry_date=day + timedelta(days=1), currency=currency, account=account, instrument=instrument,
               description=f"Reversal of mark to market {day.isoformat()}")
    return entry


def mark_to_market(ledger: Ledger) -> None:
    """The ledger's marks to market: AAPL 250 on the 4th, 1,500 on DAY2 (60 at 175 against 9,000), a loss of 300
    on the 15th and 500 on DAY3 (50 at 160 against 7,500); SAP 100 EUR on DAY2 (110 in base)."""
    acc, house = ledger.accounts["ACC-001"], ledger.accounts["HOUSE"]
    aapl, sap = ledger.instruments["AAPL"], ledger.instruments["SAP"]
    post_mark_to_market(MTM_DAY0, "250", account=acc, instrument=aapl)
    post_mark_to_market(DAY2, "1500", account=acc, instrument=aapl)
    post_mark_to_market(DAY2, "100", account=house, instrument=sap, currency="EUR")
    post_mark_to_market(MTM_DAY_LOSS, "-300", account=acc, instrument=aapl)
    post_mark_to_market(DAY3, "500", account=acc, instrument=aapl)


def _days(**filters):
    return [(r["entry_date"], r["realized"], r["cumulative"], r["unrealized"], r["total"])
            for r in selectors.pnl_by_day(**filters)]


def test_pnl_by_day_adds_each_mark_to_market_to_the_realized_to_date(ledger, django_assert_num_queries):
    mark_to_market(ledger)
    with django_assert_num_queries(1):
        days = _days(as_of=DAY3)
    assert days == [
        (MTM_DAY0, None, D(0), D("250"), D("250")),  # nothing realized yet; its reversal on the 5th is no row
        (DAY2, D("800"), D("800"), D("1610"), D("2410")),  # AAPL 1,500 + SAP 110 in base
        (MTM_DAY_LOSS, None, D("800"), D("-300"), D("500")),
        (DAY3, D("-100"), D("700"), D("500"), D("1200")),
    ]


def test_pnl_by_day_without_a_mark_to_market_is_the_realized_series(ledger):
    assert _days(as_of=DAY3) == [(DAY2, D("800"), D("800"), None, None), (DAY3, D("-100"), D("700"), None, None)]
    assert _days(as_of=DAY1) == []


def test_pnl_by_day_filters_by_account_instrument_and_date(ledger):
    mark_to_market(ledger)
    assert _days(as_of=DAY2) == [(MTM_DAY0, None, D(0), D("250"), D("250")),
                                 (DAY2, D("800"), D("800"), D("1610"), D("2410"))]
    assert _days(as_of=DAY3, instrument=ledger.instruments["SAP"]) == [(DAY2, None, D(0), D("110"), D("110"))]
    assert _days(as_of=DAY3, account=ledger.accounts["ACC-001"]) == [
        (MTM_DAY0, None, D(0), D("250"), D("250")), (DAY2, D("800"), D("800"), D("1500"), D("2300")),
        (MTM_DAY_LOSS, None, D("800"), D("-300"), D("500")), (DAY3, D("-100"), D("700"), D("500"), D("1200"))]
    assert _days(as_of=DAY3, account=ledger.accounts["HOUSE"], instrument=ledger.instruments["AAPL"]) == []


def test_pnl_by_day_reads_the_mark_to_market_of_the_date_not_its_reversal(ledger):
    """On the day after a mark to market only its reversal is dated: no unrealized figure, so no total point."""
    post_mark_to_market(DAY2 - timedelta(days=1), "400", account=ledger.accounts["ACC-001"],
                        instrument=ledger.instruments["AAPL"])
    assert _days(as_of=DAY2) == [(date(2026, 11, 9), None, D(0), D("400"), D("400")),
                                 (DAY2, D("800"), D("800"), None, None)]


# --- statements ---

def test_income_statement_shows_revenue_and_expenses_positive_in_a_hierarchy(ledger):
    statement = selectors.income_statement(date_from=DAY1, date_to=DAY2)
    assert (statement.revenue, statement.expenses, statement.net_income) == (D("800"), D("15"), D("785"))
    revenue, expenses = statement.sections
    heading = revenue.lines[0]
    assert (heading.gl_account, heading.depth, heading.amount, heading.total, heading.has_children) == (
        "4000", 0, D(0), D("800"), True)
    realized = next(line for line in revenue.lines if line.gl_account == "4100")
    assert (realized.depth, realized.parent, realized.total) == (1, "4000", D("800"))
    assert [line.gl_account for line in expenses.lines] == ["5000", "5100", "5200"]
    later = selectors.income_statement(date_from=DAY2, date_to=DAY3)
    assert (later.revenue, later.expenses, later.net_income) == (D("700"), D("5"), D("695"))


def test_balance_sheet_assets_equal_liabilities_plus_equity_with_current_earnings(ledger):
    sheet = selectors.balance_sheet(as_of=DAY2)
    assert (sheet.assets, sheet.liabilities, sheet.earnings, sheet.equity) == (
        D("28000"), D("27215"), D("785"), D("785"))
    assert sheet.assets == sheet.liabilities_and_equity and sheet.difference == 0
    equity = sheet.sections[2]
    assert (equity.lines[-1].gl_account, equity.lines[-1].name, equity.lines[-1].total) == (
        None, selectors.EARNINGS_LABEL, D("785"))
    for as_of in (DAY1, DAY3, date(2026, 10, 1)):
        sheet = selectors.balance_sheet(as_of=as_of)
        assert sheet.assets == sheet.liabilities + sheet.equity and sheet.difference == 0


def test_balance_sheet_of_a_period_with_fx_rounding_still_balances(ledger):
    with transaction.atomic():
        fx_rate_upsert(actor="test", base_currency="EUR", quote_currency="USD", rate_date=DAY3, rate=D("1.0837"))
    post_entry(lines=[("INVESTMENTS", "333.33", "3"), ("PAYABLE_PURCHASES", "-111.11"),
                      ("COMMISSION_EXPENSE", "0.01"), ("PAYABLE_PURCHASES", "-222.23")], entry_date=DAY3,
               currency="EUR", account=ledger.accounts["HOUSE"], instrument=ledger.instruments["SAP"])
    sheet = selectors.balance_sheet(as_of=DAY3)
    assert sheet.difference == 0 and sheet.assets == sheet.liabilities_and_equity
