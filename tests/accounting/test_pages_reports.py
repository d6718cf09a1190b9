"""The report pages: trial balance (and its CSV), a GL account's ledger, P&L with its charts, statements."""

import csv
import io

import lxml.html
import pytest
from django.urls import reverse

from tests.accounting.test_selectors_reports import DAY1, DAY2, DAY3, build_ledger, mark_to_market
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

PAGES = ["accounting:trial-balance", "accounting:trial-balance-csv", "accounting:ledger", "accounting:ledger-csv",
         "accounting:pnl", "accounting:pnl-csv", "accounting:statements", "accounting:statements-csv"]


@pytest.fixture
def ledger(accounts, instruments):
    return build_ledger(accounts, instruments)


@pytest.fixture
def accountant(client, db):
    client.force_login(make_user("acct-dash", "accounting"))
    return client


def _html(response):
    assert response.status_code == 200, response.status_code
    return lxml.html.fromstring(response.content.decode())


def _cells(row) -> list[str]:
    return [" ".join(cell.text_content().split()) for cell in row.xpath("./td|./th")]


@pytest.mark.parametrize("name", PAGES)
def test_signed_out_users_are_sent_to_log_in(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302 and "login" in response["Location"]


@pytest.mark.parametrize("name", PAGES)
def test_front_office_may_not_see_the_reports(client, db, name):
    client.force_login(make_user("fo-dash", "front_office"))
    assert client.get(reverse(name)).status_code == 403


@pytest.mark.parametrize("role", ["accounting", "operations", "compliance"])
def test_readers_see_every_report_page_empty(client, db, role):
    client.force_login(make_user("reader", role))
    for name in PAGES:
        assert client.get(reverse(name)).status_code == 200, name


def test_trial_balance_page_rows_totals_and_links(ledger, accountant):
    page = _html(accountant.get(reverse("accounting:trial-balance"), {"as_of": DAY2.isoformat()}))
    rows = page.xpath('//table[@id="trial-balance"]/tbody/tr')
    assert len(rows) == 10
    first = _cells(rows[0])
    assert first == ["1100", "Cash at banks and depositories", "Asset", "USD", "10,000.00", "", "10,000.00",
                     "10,000.00", "", "10,000.00"]
    sap = next(_cells(row) for row in rows if _cells(row)[:4] == ["2100", "Payable for securities purchased",
                                                                  "Liability", "EUR"])
    assert sap[5:] == ["2,000.00", "-2,000.00", "", "2,200.00", "-2,200.00"]
    link = rows[0].xpath(".//a")[0].get("href")
    assert link == reverse("accounting:ledger") + "?gl_account=1100&currency=USD&date_to=2026-11-10"
    usd = _cells(page.xpath('//tfoot/tr[@data-currency="USD"]')[0])
    assert usd[:4] == ["Total USD", "USD", "25,815.00", "25,815.00"]
    base = _cells(page.xpath('//tr[@id="base-total"]')[0])
    assert "28,015.00" in base and base.count("28,015.00") == 2
    assert "In balance" in page.xpath('//*[@id="balance-check"]')[0].text_content()
    csv_link = page.xpath('//a[@id="csv-link"]')[0].get("href")
    assert csv_link == reverse("accounting:trial-balance-csv") + "?as_of=2026-11-10"


def test_trial_balance_csv_has_every_row_in_the_platform_format(ledger, accountant):
    response = accountant.get(reverse("accounting:trial-balance-csv"), {"as_of": DAY2.isoformat(), "currency": "EUR"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="trial-balance-20261110.csv"' in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode()
    assert list(csv.reader(io.StringIO(text))) == [
        ["as_of", "gl_account", "name", "type", "currency", "debit", "credit", "balance", "base_currency",
         "base_debit", "base_credit", "base_balance"],
        ["2026-11-10", "1300", "Investments at cost", "ASSET", "EUR", "2000", "0", "2000", "USD", "2200", "0", "2200"],
        ["2026-11-10", "2100", "Payable for securities purchased", "LIABILITY", "EUR", "0", "2000", "-2000", "USD",
         "0", "2200", "-2200"],
    ]
    assert text.endswith("\r\n")


def test_trial_balance_with_an_unknown_account_shows_the_error_and_no_rows(ledger, accountant):
    page = _html(accountant.get(reverse("accounting:trial-balance"), {"account": "NOPE"}))
    assert "No account 'NOPE'" in page.text_content()
    assert len(page.xpath('//table[@id="trial-balance"]/tbody/tr/td[@class="empty"]')) == 1


def test_ledger_page_running_balances_opening_and_closing(ledger, accountant):
    page = _html(accountant.get(reverse("accounting:ledger"), {"gl_account": "1300", "currency": "USD",
                                                               "date_from": DAY2.isoformat()}))
    rows = page.xpath('//table[@id="ledger"]/tbody/tr')
    opening = _cells(rows[0])
    assert opening[0] == "Opening balance before 2026-11-10" and opening[5] == "15,000.00"
    lines = [_cells(row) for row in rows[1:]]
    assert [(cells[0], cells[1], cells[9], cells[10], cells[11]) for cells in lines] == [
        ("2026-11-10", str(ledger.sell.pk), "", "6,800.00", "8,200.00"),
        ("2026-11-10", str(ledger.sell.pk), "800.00", "", "9,000.00"),
        ("2026-11-20", str(ledger.late_sell.pk), "", "1,400.00", "7,600.00"),
        ("2026-11-20", str(ledger.late_sell.pk), "", "100.00", "7,500.00"),
    ]
    assert lines[0][8] == "-40" and lines[0][3] == f"TRADE:{ledger.sell.source_id}"
    closing = _cells(page.xpath('//tfoot/tr[@data-currency="USD"]')[0])
    assert closing[0] == "Closing balance" and "7,500.00" in closing


def test_ledger_page_links_each_line_to_its_entry_when_that_page_exists(ledger, accountant):
    from django.urls import NoReverseMatch

    page = _html(accountant.get(reverse("accounting:ledger"), {"gl_account": "1100"}))
    entry_cell = page.xpath('//table[@id="ledger"]/tbody/tr/td[2]')[0]
    try:
        url = reverse("accounting:journal-entry", kwargs={"pk": ledger.deposit.pk})
    except NoReverseMatch:
        assert entry_cell.xpath(".//a") == [] and entry_cell.text_content().strip() == str(ledger.deposit.pk)
    else:
        assert entry_cell.xpath(".//a")[0].get("href") == url


def test_ledger_page_without_a_gl_account_lists_the_chart(ledger, accountant):
    page = _html(accountant.get(reverse("accounting:ledger")))
    codes = page.xpath('//section[@id="chart-of-accounts"]//tbody/tr/td[1]/a/text()')
    assert codes[:3] == ["1000", "1100", "1200"]


def test_pnl_page_rows_totals_and_charts(ledger, accountant):
    page = _html(accountant.get(reverse("accounting:pnl"), {"as_of": DAY3.isoformat()}))
    rows = [_cells(row) for row in page.xpath('//table[@id="pnl-table"]/tbody/tr')]
    assert rows[0] == ["ACC-001", f"AAPL {ledger.instruments['AAPL'].isin}", "USD", "50", "7,500.00", "160.00",
                       "2026-11-20", "8,000.00", "700.00", "500.00", "15.00", "1,185.00"]
    assert rows[1][:3] == ["HOUSE", f"SAP {ledger.instruments['SAP'].isin}", "EUR"] and "no price" in rows[1][5]
    usd = _cells(page.xpath('//tfoot/tr[@data-currency="USD"]')[0])
    assert usd[-5:] == ["8,000.00", "700.00", "500.00", "15.00", "1,185.00"]
    assert page.xpath('//*[@data-figure="net-USD"]')[0].text_content().strip() == "1,185.00"
    points = page.xpath('//svg[@id="chart-realized"]//circle')
    assert [(p.get("data-day"), p.get("data-value"), p.get("class")) for p in points] == [
        ("2026-11-10", "800", "gain"), ("2026-11-20", "700", "gain")]
    bars = page.xpath('//svg[@id="chart-net-USD"]//g[@class="bar-row"]')
    assert [(bar.get("data-label"), bar.get("data-value")) for bar in bars] == [("AAPL", "1185")]
    assert bars[0].xpath("./rect")[0].get("class") == "gain"


def test_pnl_page_counts_unpriced_rows_with_thousands_separators(ledger, accountant, monkeypatch):
    """A big book has hundreds of thousands of unpriced positions: the card and the total say 330,368, not 330368."""
    from accounting.reports import selectors

    totals_of = selectors.pnl_totals_of
    monkeypatch.setattr(selectors, "pnl_totals_of",
                        lambda by_instrument: [{**total, "unpriced": 330368} for total in totals_of(by_instrument)])
    page = _html(accountant.get(reverse("accounting:pnl"), {"as_of": DAY3.isoformat()}))
    text = " ".join(page.text_content().split())
    assert "330,368 unpriced" in text and "330,368 without a price" in text
    assert "330368" not in text


def test_pnl_page_draws_losses_red(ledger, accountant):
    page = _html(accountant.get(reverse("accounting:pnl"), {"as_of": DAY1.isoformat()}))
    bars = page.xpath('//svg[@id="chart-net-USD"]//g[@class="bar-row"]')
    assert [(bar.get("data-label"), bar.get("data-value")) for bar in bars] == [("AAPL", "-10")]
    assert bars[0].xpath("./rect")[0].get("class") == "loss"
    assert page.xpath('//svg[@id="chart-realized"]') == []  # nothing realized yet


def test_pnl_page_filters_by_symbol(ledger, accountant):
    page = _html(accountant.get(reverse("accounting:pnl"), {"as_of": DAY2.isoformat(), "instrument": "sap"}))
    rows = page.xpath('//table[@id="pnl-table"]/tbody/tr')
    assert len(rows) == 1 and _cells(rows[0])[0] == "HOUSE"


def test_statements_page_side_by_side_and_balanced(ledger, accountant):
    page = _html(accountant.get(reverse("accounting:statements"), {"date_from": DAY1.isoformat(),
                                                                   "date_to": DAY2.isoformat()}))
    assert page.xpath('//*[@data-figure="net-income"]')[0].text_content().strip() == "785.00"
    assert page.xpath('//*[@data-figure="assets"]')[0].text_content().strip() == "28,000.00"
    assert page.xpath('//*[@data-figure="liabilities-and-equity"]')[0].text_content().strip() == "28,000.00"
    income = {(cells[0], cells[1]): cells[2] for cells in map(_cells, page.xpath('//table[@id="income-table"]//tr'))
              if len(cells) == 3}
    assert income[("4100", "Realized gain or loss on investments")] == "800.00"
    assert income[("5100", "Commission expense")] == "15.00"
    equity = page.xpath('//table[@id="balance-table"]/tbody[@data-section="EQUITY"]/tr')
    assert _cells(equity[-2]) == ["", "Current-period earnings", "785.00"]
    assert _cells(equity[-1]) == ["Total equity", "785.00"]
    assert "equal to assets" in page.text_content()


def test_pnl_page_draws_the_total_pnl_over_time_with_a_legend(ledger, accountant):
    mark_to_market(ledger)
    page = _html(accountant.get(reverse("accounting:pnl"), {"as_of": DAY3.isoformat()}))
    chart = page.xpath('//svg[@id="chart-realized"]')[0]

    def series(key):
        return [(p.get("data-day"), p.get("data-value"), p.get("class"))
                for p in chart.xpath(f'.//g[@data-series="{key}"]/circle')]

    assert series("realized") == [("2026-11-10", "800", "gain"), ("2026-11-20", "700", "gain")]
    assert series("total") == [("2026-11-04", "250", "gain"), ("2026-11-10", "2410", "gain"),
                               ("2026-11-15", "500", "gain"), ("2026-11-20", "1200", "gain")]
    assert [" ".join(g.text_content().split()) for g in chart.xpath('.//g[@class="legend"]')] == [
        "Realized, cumulative", "Total: realized + unrealized"]
    assert len(chart.xpath('.//polyline[@class="line line-total"]')) == 1
    title = chart.xpath('.//g[@data-series="total"]/circle/title')[1].text_content()
    assert title == "2026-11-10: 2,410.00 USD total: realized to date 800.00 + unrealized 1,610.00"
    # The points of a series run left to right by date; the first date of either series starts the axis.
    xs = [float(p.get("cx")) for p in chart.xpath('.//g[@data-series="total"]/circle')]
    assert xs == sorted(xs) and xs[0] == float(chart.xpath('.//line[@class="axis"]')[0].get("x1"))


def test_pnl_page_total_series_follows_the_filters(ledger, accountant):
    mark_to_market(ledger)
    page = _html(accountant.get(reverse("accounting:pnl"), {"as_of": DAY3.isoformat(), "instrument": "SAP"}))
    chart = page.xpath('//svg[@id="chart-realized"]')[0]
    assert chart.xpath('.//g[@data-series="realized"]/circle') == []
    assert [(p.get("data-day"), p.get("data-value")) for p in chart.xpath('.//g[@data-series="total"]/circle')] == [
        ("2026-11-10", "110")]
    assert [g.get("data-series") for g in chart.xpath('.//g[@class="legend"]')] == ["total"]


def test_report_pages_link_their_csv_with_the_current_filters(ledger, accountant):
    def link(name, params):
        page = _html(accountant.get(reverse(name), params))
        return page.xpath('//a[@id="csv-link"]')[0].get("href")

    assert link("accounting:ledger", {"gl_account": "1300", "currency": "USD", "page": "2"}) == (
        reverse("accounting:ledger-csv") + "?gl_account=1300&currency=USD")
    assert link("accounting:pnl", {"as_of": DAY2.isoformat(), "instrument": "SAP"}) == (
        reverse("accounting:pnl-csv") + "?as_of=2026-11-10&instrument=SAP")
    assert link("accounting:statements", {"date_from": DAY1.isoformat(), "account": "ACC-001"}) == (
        reverse("accounting:statements-csv") + "?date_from=2026-11-02&account=ACC-001")
