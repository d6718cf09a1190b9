"""The reports' and the journal's CSV downloads: ledger, P&L, statements, journal (the trial balance's is in
test_pages_reports). Each takes its page's filters, holds every row (not a page), is streamed in the platform's
one CSV format (backoffice.core.csv_export: formula guard, plain decimals, CRLF), and needs a reader's role.

The book is test_selectors_reports' (build_ledger), posted through the real writer.
"""

import csv
import io
from datetime import timedelta

import lxml.html
import pytest
from django.urls import reverse

from backoffice.core.csv_export import csv_timestamp
from tests.accounting.factories import post_entry
from tests.accounting.test_selectors_reports import DAY1, DAY2, DAY3, build_ledger
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

CSVS = ["accounting:ledger-csv", "accounting:pnl-csv", "accounting:statements-csv", "accounting:journal-entries-csv"]
LEDGER_HEADER = ["row", "gl_account", "entry_date", "entry", "rule", "source_type", "source_id", "description",
                 "account", "isin", "symbol", "currency", "quantity", "debit", "credit", "balance", "base_currency",
                 "base_debit", "base_credit", "base_balance"]
PNL_HEADER = ["as_of", "account", "isin", "symbol", "currency", "quantity", "cost", "price", "price_date",
              "market_value", "realized", "unrealized", "commissions", "net"]
STATEMENT_HEADER = ["statement", "date_from", "date_to", "section", "row", "gl_account", "name", "parent", "depth",
                    "own_amount", "amount", "currency"]
JOURNAL_HEADER = ["entry", "entry_date", "posted_at", "posted_by", "source_type", "source_id", "rule",
                  "entry_account", "description", "reversal_of", "line", "gl_account", "gl_name", "account", "isin",
                  "currency", "quantity", "debit", "credit", "fx_rate", "base_debit", "base_credit"]
HEADERS = dict(zip(CSVS, (LEDGER_HEADER, PNL_HEADER, STATEMENT_HEADER, JOURNAL_HEADER), strict=True))
FORMULA = '=HYPERLINK("http://evil.example","click")'


@pytest.fixture
def ledger(accounts, instruments):
    return build_ledger(accounts, instruments)


@pytest.fixture
def accountant(client, db):
    client.force_login(make_user("acct-csv", "accounting"))
    return client


def _text(response) -> str:
    assert response.status_code == 200, response.status_code
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment; ")
    return b"".join(response.streaming_content).decode()


def _csv(response) -> list[list[str]]:
    text = _text(response)
    assert text.endswith("\r\n")
    return list(csv.reader(io.StringIO(text)))


def _get(client, name: str, **params) -> list[list[str]]:
    return _csv(client.get(reverse(name), params))


# --- who may download ---

@pytest.mark.parametrize("name", CSVS)
def test_signed_out_users_are_sent_to_log_in(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302 and "login" in response["Location"]


@pytest.mark.parametrize("name", CSVS)
def test_front_office_may_not_download(client, db, name):
    client.force_login(make_user("fo-csv", "front_office"))
    assert client.get(reverse(name)).status_code == 403


@pytest.mark.parametrize("role", ["accounting", "operations", "compliance"])
def test_readers_download_each_csv_with_its_header(client, db, role):
    client.force_login(make_user("reader-csv", role))
    for name in ("accounting:ledger-csv", "accounting:pnl-csv", "accounting:journal-entries-csv"):
        assert _get(client, name) == [HEADERS[name]], name
    rows = _get(client, "accounting:statements-csv")
    assert rows[0] == STATEMENT_HEADER and rows[-1][4] == "difference"


# --- ledger ---

def test_ledger_csv_has_every_line_with_running_balances_opening_and_closing(ledger, accountant):
    response = accountant.get(reverse("accounting:ledger-csv"), {"gl_account": "1300", "date_from": DAY2.isoformat(),
                                                                 "page": "2"})
    assert 'filename="ledger-1300-' in response["Content-Disposition"]
    sell, sap, late = ledger.sell, ledger.sap_buy, ledger.late_sell
    aapl, sap_isin = ledger.instruments["AAPL"].isin, ledger.instruments["SAP"].isin
    assert _csv(response) == [
        LEDGER_HEADER,
        ["opening", "1300", "", "", "", "", "", "Opening balance before 2026-11-10", "", "", "", "USD", "", "", "",
         "15000", "USD", "", "", "15000"],
        ["line", "1300", "2026-11-10", str(sell.pk), "TRADE_SELL", "TRADE", str(sell.source_id), "sell 40 AAPL",
         "ACC-001", aapl, "AAPL", "USD", "-40", "0", "6800", "8200", "USD", "0", "6800", "8200"],
        ["line", "1300", "2026-11-10", str(sell.pk), "TRADE_SELL", "TRADE", str(sell.source_id), "sell 40 AAPL",
         "ACC-001", aapl, "AAPL", "USD", "0", "800", "0", "9000", "USD", "800", "0", "9000"],
        # EUR: its own running balance; the base balance runs over every currency.
        ["line", "1300", "2026-11-10", str(sap.pk), "TRADE_BUY", "TRADE", str(sap.source_id), "buy 10 SAP",
         "HOUSE", sap_isin, "SAP", "EUR", "10", "2000", "0", "2000", "USD", "2200", "0", "11200"],
        ["line", "1300", "2026-11-20", str(late.pk), "TRADE_SELL", "TRADE", str(late.source_id), "sell 10 AAPL",
         "ACC-001", aapl, "AAPL", "USD", "-10", "0", "1400", "7600", "USD", "0", "1400", "9800"],
        ["line", "1300", "2026-11-20", str(late.pk), "TRADE_SELL", "TRADE", str(late.source_id), "sell 10 AAPL",
         "ACC-001", aapl, "AAPL", "USD", "0", "0", "100", "7500", "USD", "0", "100", "9700"],
        ["closing", "1300", "", "", "", "", "", "Closing balance", "", "", "", "EUR", "", "", "", "2000", "USD", "",
         "", "2200"],
        ["closing", "1300", "", "", "", "", "", "Closing balance", "", "", "", "USD", "", "", "", "7500", "USD", "",
         "", "7500"],
    ]


def test_ledger_csv_takes_the_pages_filters(ledger, accountant):
    rows = _get(accountant, "accounting:ledger-csv", gl_account="1300", account="HOUSE", date_to=DAY2.isoformat())
    assert [(row[0], row[3], row[8], row[11], row[15], row[19]) for row in rows[1:]] == [
        ("line", str(ledger.sap_buy.pk), "HOUSE", "EUR", "2000", "2200"),
        ("closing", "", "HOUSE", "EUR", "2000", "2200")]
    assert rows[-1][7] == "Closing balance at the end of 2026-11-10"
    rows = _get(accountant, "accounting:ledger-csv", gl_account="1300", currency="USD", date_to=DAY1.isoformat())
    assert [(row[0], row[3], row[15]) for row in rows[1:]] == [("line", str(ledger.buy.pk), "15000"),
                                                                ("closing", "", "15000")]


@pytest.mark.parametrize("params", [{}, {"gl_account": "NOPE"}, {"gl_account": "1300", "account": "NOPE"},
                                    {"gl_account": "1300", "date_from": "2026-11-20", "date_to": "2026-11-10"}])
def test_ledger_csv_without_a_valid_scope_is_the_header_alone(ledger, accountant, params):
    assert _get(accountant, "accounting:ledger-csv", **params) == [LEDGER_HEADER]


def test_ledger_csv_holds_every_line_not_one_page(accountant, accounts):
    for n in range(60):
        post_entry(lines=[("CASH", "1"), ("ACCOUNT_FUNDS", "-1")], entry_date=DAY1 + timedelta(days=n % 5),
                   account=accounts["ACC-001"], description=f"deposit {n}")
    rows = _get(accountant, "accounting:ledger-csv", gl_account="1100")
    lines = [row for row in rows if row[0] == "line"]
    assert len(lines) == 60 and [row[15] for row in lines] == [str(n) for n in range(1, 61)]
    assert rows[-1][0] == "closing" and rows[-1][15] == "60"


# --- P&L ---

def test_pnl_csv_has_every_row_of_the_report(ledger, accountant):
    response = accountant.get(reverse("accounting:pnl-csv"), {"as_of": DAY3.isoformat(), "page": "3"})
    assert 'filename="pnl-20261120.csv"' in response["Content-Disposition"]
    assert _csv(response) == [
        PNL_HEADER,
        ["2026-11-20", "ACC-001", ledger.instruments["AAPL"].isin, "AAPL", "USD", "50", "7500", "160", "2026-11-20",
         "8000", "700", "500", "15", "1185"],
        # Never priced: no price, market value or unrealized; net counts unrealized 0.
        ["2026-11-20", "HOUSE", ledger.instruments["SAP"].isin, "SAP", "EUR", "10", "2000", "", "", "", "0", "", "0",
         "0"],
    ]


def test_pnl_csv_takes_the_pages_filters(ledger, accountant):
    rows = _get(accountant, "accounting:pnl-csv", as_of=DAY2.isoformat(), account="ACC-001", instrument="AAPL")
    assert rows[1:] == [["2026-11-10", "ACC-001", ledger.instruments["AAPL"].isin, "AAPL", "USD", "60", "9000", "175",
                         "2026-11-10", "10500", "800", "1500", "15", "2285"]]
    assert [row[1] for row in _get(accountant, "accounting:pnl-csv", instrument="sap")[1:]] == ["HOUSE"]
    assert _get(accountant, "accounting:pnl-csv", instrument="NOPE") == [PNL_HEADER]
    assert _get(accountant, "accounting:pnl-csv", account="NOPE") == [PNL_HEADER]


# --- statements ---

def test_statements_csv_holds_both_statements_with_their_totals(ledger, accountant):
    response = accountant.get(reverse("accounting:statements-csv"), {"date_from": DAY1.isoformat(),
                                                                     "date_to": DAY2.isoformat()})
    assert 'filename="statements-20261102-20261110.csv"' in response["Content-Disposition"]
    rows = _csv(response)
    assert rows[0] == STATEMENT_HEADER
    income = [row for row in rows[1:] if row[0] == "income_statement"]
    assert {row[0] for row in rows[1:]} == {"income_statement", "balance_sheet"}
    assert [row for row in income if row[4] != "account" or row[10] != "0"] == [
        ["income_statement", "2026-11-02", "2026-11-10", "REVENUE", "account", "4000", "Revenue and trading gains",
         "", "0", "0", "800", "USD"],
        ["income_statement", "2026-11-02", "2026-11-10", "REVENUE", "account", "4100",
         "Realized gain or loss on investments", "4000", "1", "800", "800", "USD"],
        ["income_statement", "2026-11-02", "2026-11-10", "REVENUE", "section_total", "", "Total revenue", "", "", "",
         "800", "USD"],
        ["income_statement", "2026-11-02", "2026-11-10", "EXPENSE", "account", "5000", "Expenses", "", "0", "0", "15",
         "USD"],
        ["income_statement", "2026-11-02", "2026-11-10", "EXPENSE", "account", "5100", "Commission expense", "5000",
         "1", "15", "15", "USD"],
        ["income_statement", "2026-11-02", "2026-11-10", "EXPENSE", "section_total", "", "Total expense", "", "", "",
         "15", "USD"],
        ["income_statement", "2026-11-02", "2026-11-10", "", "net_income", "", "Net income (revenue - expenses)", "",
         "", "", "785", "USD"],
    ]
    sheet = {(row[3], row[4], row[5]): row for row in rows[1:] if row[0] == "balance_sheet"}
    assert sheet[("ASSET", "account", "1300")] == ["balance_sheet", "", "2026-11-10", "ASSET", "account", "1300",
                                                   "Investments at cost", "1000", "1", "11200", "11200", "USD"]
    assert sheet[("EQUITY", "earnings", "")][6:] == ["Current-period earnings", "", "0", "785", "785", "USD"]
    assert [row[4:] for row in rows[-3:]] == [
        ["total_assets", "", "Total assets", "", "", "", "28000", "USD"],
        ["total_liabilities_and_equity", "", "Total liabilities and equity", "", "", "", "28000", "USD"],
        ["difference", "", "Difference (assets - liabilities and equity)", "", "", "", "0", "USD"]]
    assert [row[10] for row in rows if row[4] == "section_total"] == ["800", "15", "28000", "27215", "785"]


def test_statements_csv_takes_the_pages_filters(ledger, accountant):
    rows = _get(accountant, "accounting:statements-csv", date_from=DAY3.isoformat(), date_to=DAY3.isoformat(),
                account="ACC-001")
    totals = {(row[0], row[4]): row[10] for row in rows[1:] if row[4] != "account"}
    assert totals[("income_statement", "net_income")] == "-100"  # the late sale alone
    assert {row[1] for row in rows[1:] if row[0] == "income_statement"} == {"2026-11-20"}
    # ACC-001's: cash 10,000 + receivables 8,200 + investments 7,500.
    assert totals[("balance_sheet", "total_assets")] == "25700"
    assert _get(accountant, "accounting:statements-csv", account="NOPE") == [STATEMENT_HEADER]


# --- journal ---

def _journal_rows(entry) -> list[list[str]]:
    posted = csv_timestamp(entry.posted_at)
    rows = []
    for line in entry.lines.order_by("id").select_related("gl_account", "account", "instrument"):
        rows.append([str(entry.pk), entry.entry_date.isoformat(), posted, "", entry.source_type, str(entry.source_id),
                     entry.rule, entry.account.code, entry.description, "", str(line.pk), line.gl_account.code,
                     line.gl_account.name, line.account.code, line.instrument.isin, line.currency])
    return rows


def test_journal_csv_has_one_row_per_line_with_the_pages_filters(ledger, accountant):
    sell, sap = ledger.sell, ledger.sap_buy
    rows = _get(accountant, "accounting:journal-entries-csv", source=f"TRADE:{sell.source_id}")
    lines = list(sell.lines.order_by("id"))
    assert rows[0] == JOURNAL_HEADER
    assert [row[:16] for row in rows[1:]] == _journal_rows(sell)
    assert [row[11] for row in rows[1:]] == ["1200", "1300", "1300", "4100", "5100", "2150"]
    assert [row[16:] for row in rows[1:]] == [
        ["0", "6800", "0", "1", "6800", "0"], ["-40", "0", "6800", "1", "0", "6800"],
        ["0", "800", "0", "1", "800", "0"], ["0", "0", "800", "1", "0", "800"],
        ["0", "5", "0", "1", "5", "0"], ["0", "0", "5", "1", "0", "5"]]
    assert [row[10] for row in rows[1:]] == [str(line.pk) for line in lines]
    # A foreign currency: its amounts and rate, base amounts in the base currency.
    rows = _get(accountant, "accounting:journal-entries-csv", currency="EUR")
    assert [row[:16] for row in rows[1:]] == _journal_rows(sap)
    assert [row[16:] for row in rows[1:]] == [["10", "2000", "0", "1.1", "2200", "0"],
                                              ["0", "0", "2000", "1.1", "0", "2200"]]


def test_journal_csv_is_every_entry_newest_posted_first_not_one_page(ledger, accountant):
    entries = [post_entry(lines=[("CASH", "1"), ("ACCOUNT_FUNDS", "-1")], entry_date=DAY1, rule="BULK")
               for _ in range(55)]
    rows = _get(accountant, "accounting:journal-entries-csv", rule="BULK", before=str(entries[10].pk))
    assert len(rows) == 1 + 110
    assert [row[0] for row in rows[1::2]] == [str(entry.pk) for entry in reversed(entries)]


@pytest.mark.parametrize(("params", "entries"), [
    ({"source": "TRADE"}, ["late_sell", "sap_buy", "sell", "buy"]),
    ({"rule": "TRADE_SELL"}, ["late_sell", "sell"]),
    ({"gl_account": "4100"}, ["late_sell", "sell"]),
    ({"account": "HOUSE"}, ["sap_buy"]),
    ({"date_from": "2026-11-10", "date_to": "2026-11-10"}, ["sap_buy", "sell"]),
    ({"source": "NOPE"}, []),
    ({"account": "NOPE"}, []),
    ({"gl_account": "9999"}, []),
    ({"date_from": "2026-11-20", "date_to": "2026-11-10"}, []),
])
def test_journal_csv_filters(ledger, accountant, params, entries):
    rows = _get(accountant, "accounting:journal-entries-csv", **params)
    assert rows[0] == JOURNAL_HEADER
    assert list(dict.fromkeys(row[0] for row in rows[1:])) == [str(getattr(ledger, name).pk) for name in entries]


def test_journal_page_links_its_csv_with_the_filters_not_the_page(ledger, accountant):
    response = accountant.get(reverse("accounting:journal-entries"), {"rule": "TRADE_SELL", "before": "99"})
    link = lxml.html.fromstring(response.content.decode()).xpath('//a[@id="csv-link"]')[0].get("href")
    assert link == reverse("accounting:journal-entries-csv") + "?rule=TRADE_SELL"


# --- formula guard ---

def test_a_description_a_spreadsheet_would_evaluate_is_written_as_text(accountant, accounts):
    entry = post_entry(lines=[("CASH", "-5"), ("ACCOUNT_FUNDS", "5")], entry_date=DAY1, description=FORMULA,
                       account=accounts["ACC-001"])
    ledger_rows = _get(accountant, "accounting:ledger-csv", gl_account="1100")
    assert [row[7] for row in ledger_rows if row[0] == "line"] == ["'" + FORMULA]
    assert ledger_rows[1][13:16] == ["0", "5", "-5"]  # numbers stay numbers, a minus included
    journal = _get(accountant, "accounting:journal-entries-csv")
    assert {row[8] for row in journal[1:]} == {"'" + FORMULA} and {row[0] for row in journal[1:]} == {str(entry.pk)}
    raw = _text(accountant.get(reverse("accounting:journal-entries-csv")))
    assert "\r\n" + str(entry.pk) + "," in raw and ",\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"click\"\")\"," in raw

