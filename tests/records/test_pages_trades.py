"""Trade blotter, CSV export and trade detail, on trades booked through trade capture (helpers_trades.blotter)."""

import csv
import io
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import lxml.html
import pytest
from django.http import StreamingHttpResponse
from django.urls import reverse

from records.trades import selectors
from records.trades.models import Trade
from tests.conftest import APPLE, MICROSOFT, SAP, VODAFONE
from tests.data import trading_days_before
from tests.pages import column, nav_links, table_rows
from tests.records.helpers_trades import book_trades

pytestmark = pytest.mark.django_db

D = Decimal

ALL = ["BIG-0001", "OMS-0011", "OMS-0010", "OMS-0003", "OMS-0002", "OMS-0001"]


def refs(response) -> list[str]:
    return column(response, "trades", 1)


def totals_text(response) -> str:
    strip = lxml.html.fromstring(response.content.decode()).xpath('//*[@id="blotter-totals"]')[0]
    return " ".join(strip.text_content().split())


def links(response) -> dict[str, str]:
    """The pager's links by their text."""
    doc = lxml.html.fromstring(response.content.decode())
    return {" ".join(a.text_content().split()): a.get("href") for a in doc.xpath('//div[@class="pager"]//a')}


# Access and navigation -------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["/records/trades/", "/records/trades/export.csv", "/records/trades/1/",
                                 "/records/inventory/"])
def test_trade_pages_need_a_signed_in_user(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_url_names():
    assert reverse("records:trades") == "/records/trades/"
    assert reverse("records:trades-export") == "/records/trades/export.csv"
    assert reverse("records:trade-detail", args=[7]) == "/records/trades/7/"
    assert reverse("records:inventory") == "/records/inventory/"


def test_trading_section_comes_right_after_overview_and_the_detail_page_belongs_to_the_blotter(signed_in, blotter):
    links_ = nav_links(signed_in.get(f"/records/trades/{blotter.ids['OMS-0001']}/"))
    assert links_[:5] == [("Home", "/", False), ("Blotter", "/records/trades/", True),
                          ("Trade files", "/records/trades/files/", False),
                          ("Inventory", "/records/inventory/", False),
                          ("Confirmations", "/clearing/confirmations/", False)]


# Blotter ---------------------------------------------------------------------------------------

def test_blotter_shows_every_column_of_a_trade_newest_first(signed_in, blotter):
    response = signed_in.get("/records/trades/")
    rows = table_rows(response, "trades")
    assert [row[1] for row in rows] == ALL
    sap = blotter.trade("OMS-0003")
    assert rows[3] == [
        str(sap.pk), "OMS-0003", f"{blotter.d2.isoformat()} as-of", sap.settlement_date.isoformat(), "HOUSE",
        "BRKR-A",
        f"SAP {SAP}", "Buy", "50", "187.36", "EUR", "9,368.00", "2.50", "Settled", "Unmatched", "v1"]
    vod = rows[2]
    assert vod[6:13] == [f"VOD {VODAFONE}", "Sell", "1,000", "0.7126", "GBP", "712.60", "1.00"]
    assert rows[0][7:14] == ["Buy", "200,000", "415.50", "USD", "83,100,000.00", "0.00", "Held"]


def test_a_trade_booked_after_its_trade_date_has_an_as_of_badge_and_one_booked_that_day_none(signed_in, blotter):
    booked_on_the_day = blotter.trade("OMS-0011")
    Trade.objects.filter(pk=booked_on_the_day.pk).update(
        created_at=datetime.combine(blotter.d1, time(15, 0), tzinfo=UTC))
    rows = {row[1]: row[2] for row in table_rows(signed_in.get("/records/trades/"), "trades")}
    assert rows == {**{ref: f"{blotter.trade(ref).trade_date.isoformat()} as-of" for ref in ALL},
                    "OMS-0011": blotter.d1.isoformat()}
    detail = signed_in.get(f"/records/trades/{blotter.ids['OMS-0001']}/").content.decode()
    assert '<span class="tag tag-as-of" title="Booked after its trade date">as-of</span>' in detail


def test_every_row_links_to_its_trade_detail(signed_in, blotter):
    doc = lxml.html.fromstring(signed_in.get("/records/trades/").content.decode())
    for ref, trade_id in blotter.ids.items():
        row = doc.xpath(f'//table[@id="trades"]/tbody/tr[td[2]="{ref}"]')[0]
        assert row.get("data-href") == f"/records/trades/{trade_id}/"
        assert row.xpath("./td[1]/a/@href") == [f"/records/trades/{trade_id}/"]


def test_trade_statuses_are_coloured_pills(signed_in, blotter):
    Trade.objects.filter(pk=blotter.ids["OMS-0010"]).update(status="FAILED", match_status="MISMATCHED")
    Trade.objects.filter(pk=blotter.ids["OMS-0001"]).update(status="REJECTED")
    content = signed_in.get("/records/trades/").content.decode()
    for pill in ['<span class="pill pill-warn" title="HELD">Held</span>',
                 '<span class="pill pill-muted" title="CANCELLED">Cancelled</span>',
                 '<span class="pill pill-ok" title="SETTLED">Settled</span>',
                 '<span class="pill pill-bad" title="FAILED">Failed</span>',
                 '<span class="pill pill-bad" title="REJECTED">Rejected</span>',
                 '<span class="pill pill-neutral" title="BOOKED">Booked</span>',
                 '<span class="pill pill-bad" title="MISMATCHED">Mismatched</span>']:
        assert pill in content, pill


@pytest.mark.parametrize(("query", "expected"), [
    ("", ALL),
    ("trade_date={d1}", ["BIG-0001", "OMS-0011"]),
    ("date_from={d2}", ["BIG-0001", "OMS-0011", "OMS-0010", "OMS-0003"]),
    ("date_to={d2}", ["OMS-0010", "OMS-0003", "OMS-0002", "OMS-0001"]),
    ("date_from={d2}&date_to={d2}", ["OMS-0010", "OMS-0003"]),
    ("trade_date={d3}&date_from={d2}", []),
    ("account=ACC-001", ["BIG-0001", "OMS-0010", "OMS-0001"]),
    ("account=%20house%20", ["OMS-0011", "OMS-0003", "OMS-0002"]),
    ("instrument=AAPL", ["OMS-0011", "OMS-0001"]),
    ("instrument=aapl", ["OMS-0011", "OMS-0001"]),
    (f"instrument={MICROSOFT}", ["BIG-0001", "OMS-0002"]),
    ("counterparty=NSCC", ["OMS-0010", "OMS-0002"]),
    ("status=HELD", ["BIG-0001"]),
    ("status=CANCELLED", ["OMS-0002"]),
    ("status=SETTLED", ["OMS-0003"]),
    ("status=BOOKED", ["OMS-0011", "OMS-0010", "OMS-0001"]),
    ("side=SELL", ["OMS-0011", "OMS-0010", "OMS-0002"]),
    ("external_ref=OMS-0001", ["OMS-0001"]),
    ("external_ref=OMS-001", []),  # exact unless it ends with *
    ("external_ref=OMS-001*", ["OMS-0011", "OMS-0010"]),
    ("external_ref=OMS*", ["OMS-0011", "OMS-0010", "OMS-0003", "OMS-0002", "OMS-0001"]),
    ("account=HOUSE&side=BUY", ["OMS-0003"]),
    ("account=ACC-001&instrument=MSFT&status=HELD&trade_date={d1}&counterparty=BRKR-A", ["BIG-0001"]),
])
def test_blotter_filters(signed_in, blotter, query, expected):
    query = query.format(d1=blotter.d1, d2=blotter.d2, d3=blotter.d3)
    assert refs(signed_in.get(f"/records/trades/?{query}")) == expected


@pytest.mark.parametrize(("query", "message"), [
    ("account=NOPE", "No account &#x27;NOPE&#x27;."),
    ("instrument=ZZZZ&side=BUY", "No instrument with ISIN or symbol &#x27;ZZZZ&#x27;."),
    ("counterparty=NOPE", "No counterparty &#x27;NOPE&#x27;."),
])
def test_an_unknown_account_instrument_or_counterparty_says_so_and_matches_nothing(signed_in, blotter, query,
                                                                                  message):
    response = signed_in.get(f"/records/trades/?{query}")
    assert message in response.content.decode()
    assert refs(response) == []
    assert b"No trades match these filters." in response.content


def test_an_invalid_date_says_so_and_the_other_filters_still_apply(signed_in, blotter):
    response = signed_in.get(f"/records/trades/?trade_date=yesterday&date_from={blotter.d1}&date_to={blotter.d3}"
                             "&side=SELL")
    content = response.content.decode()
    assert "Enter a valid date." in content and "Must not be before the start date." in content
    # The reversed range keeps its start (as on the prices page); the bad trade date is dropped.
    assert refs(response) == ["OMS-0011"]


def test_totals_count_and_sum_gross_per_currency_and_side_for_the_filtered_set(signed_in, blotter):
    totals = selectors.trade_blotter_totals(selectors.trade_blotter())
    assert totals == selectors.BlotterTotals(count=6, capped=False, by_currency=[
        selectors.GrossByCurrency("EUR", 1, D("9368.00"), D(0)),
        selectors.GrossByCurrency("GBP", 1, D(0), D("712.6000")),
        selectors.GrossByCurrency("USD", 4, D("18925") + D("83100000"), D("4155") + D("3802")),
    ])
    assert totals_text(signed_in.get("/records/trades/")) == (
        "6 matching trades EUR gross 9,368.00 buy 9,368.00 · sell 0.00 GBP gross 712.60 buy 0.00 · sell 712.60 "
        "USD gross 83,126,882.00 buy 83,118,925.00 · sell 7,957.00 Export CSV")
    assert totals_text(signed_in.get("/records/trades/?account=HOUSE")).startswith("3 matching trades EUR gross")


def test_totals_are_capped_beyond_the_limit_and_say_so(signed_in, blotter, many_trades, monkeypatch):
    monkeypatch.setattr(selectors, "BLOTTER_COUNT_CAP", 100)
    assert selectors.trade_blotter_totals(selectors.trade_blotter()) == selectors.BlotterTotals(
        count=100, capped=True, by_currency=[])
    assert totals_text(signed_in.get("/records/trades/")) == (
        "100+ matching trades Totals are shown up to 100 trades: narrow the filters (a trade date, an account) to "
        "see them. Export CSV")
    # 80 + 3 HOUSE trades: under the cap, counted and summed.
    assert totals_text(signed_in.get("/records/trades/?account=HOUSE")).startswith(
        "83 matching trades EUR gross 9,368.00")


def test_keyset_pages_of_fifty_cover_every_trade_once_newest_first(signed_in, many_trades):
    newest_first = many_trades[::-1]
    page1 = signed_in.get("/records/trades/")
    assert [int(i) for i in column(page1, "trades")] == newest_first[:50]
    assert links(page1) == {"Older ›": f"?before={newest_first[49]}"}

    page2 = signed_in.get(f"/records/trades/{links(page1)['Older ›']}")
    assert [int(i) for i in column(page2, "trades")] == newest_first[50:100]
    assert links(page2) == {"« Newest": "?", "‹ Newer": f"?after={newest_first[50]}",
                            "Older ›": f"?before={newest_first[99]}"}

    page3 = signed_in.get(f"/records/trades/{links(page2)['Older ›']}")
    assert [int(i) for i in column(page3, "trades")] == newest_first[100:]
    assert set(links(page3)) == {"« Newest", "‹ Newer"}

    # Back: "Newer" from the last page is page 2 again, and from page 2 the first page.
    back2 = signed_in.get(f"/records/trades/{links(page3)['‹ Newer']}")
    assert column(back2, "trades") == column(page2, "trades")
    back1 = signed_in.get(f"/records/trades/{links(back2)['‹ Newer']}")
    assert column(back1, "trades") == column(page1, "trades")
    assert links(back1) == {"Older ›": f"?before={newest_first[49]}"}
    # The totals count every matching trade, not the page.
    assert totals_text(page2).startswith("120 matching trades USD gross 22,800.00")
    assert " ".join(page2.content.decode().split()).count("50 trades shown · IDs") == 1


def test_keyset_links_keep_the_filters_and_a_new_filter_starts_from_the_newest(signed_in, many_trades):
    house = [trade_id for n, trade_id in enumerate(many_trades) if n % 3][::-1]  # 80 trades
    page1 = signed_in.get("/records/trades/?account=HOUSE")
    assert [int(i) for i in column(page1, "trades")] == house[:50]
    assert links(page1) == {"Older ›": f"?account=HOUSE&before={house[49]}"}
    page2 = signed_in.get(f"/records/trades/{links(page1)['Older ›']}")
    assert [int(i) for i in column(page2, "trades")] == house[50:]
    assert links(page2)["‹ Newer"] == f"?account=HOUSE&after={house[50]}"
    doc = lxml.html.fromstring(page2.content.decode())
    # The filter form carries no cursor, and the export link leaves it out.
    assert not doc.xpath('//form[@class="filters"]//input[@name="before"]')
    assert doc.xpath('//a[@id="export-csv"]/@href') == ["/records/trades/export.csv?account=HOUSE"]


def test_a_cursor_past_either_end_or_not_a_number_shows_the_newest_page(signed_in, many_trades):
    newest = column(signed_in.get("/records/trades/"), "trades")
    for query in ("before=1", f"after={many_trades[-1]}", "before=abc", "after=-5"):
        assert column(signed_in.get(f"/records/trades/?{query}"), "trades") == newest, query


@pytest.mark.parametrize("query", ["", "before={mid}", "after={mid}", "account=HOUSE&before={mid}",
                                   "account=house&instrument=AAPL&counterparty=BRKR-A&status=BOOKED&side=BUY"
                                   "&date_from=2020-01-01&external_ref=BULK*"])
def test_the_blotter_costs_a_bounded_number_of_queries_whatever_the_row_count(
        signed_in, book, oms, django_assert_max_num_queries, query):
    day = trading_days_before(book.today - timedelta(days=7), 1)[0]

    def load(count, start):
        ids = book_trades(oms, [(f"Q-{start + n:04d}", "HOUSE", "BRKR-A", APPLE, "BUY", "1", "190", day, "0")
                                for n in range(count)])
        return list(ids.values())

    # Session, user, up to 3 reference look-ups, the page, its neighbour check, the capped count, the totals.
    small = load(3, 0)
    with django_assert_max_num_queries(9):
        assert signed_in.get(f"/records/trades/?{query.format(mid=small[1])}").status_code == 200
    large = load(117, 3)
    with django_assert_max_num_queries(9):
        assert signed_in.get(f"/records/trades/?{query.format(mid=large[60])}").status_code == 200


# CSV export ------------------------------------------------------------------------------------

HEADER = ("id,external_ref,trade_date,settlement_date,account,counterparty,isin,symbol,side,quantity,price,"
          "gross_amount,currency,commission,status,match_status,version,settled_quantity,created_at")


def read_csv(response) -> list[str]:
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="trades-')
    return b"".join(response.streaming_content).decode().splitlines()


def test_csv_export_holds_the_filtered_trades_exactly(signed_in, blotter):
    lines = read_csv(signed_in.get("/records/trades/export.csv?account=HOUSE"))
    assert lines[0] == HEADER
    expected = []
    for ref, isin, symbol, side, qty, px, gross, ccy, comm, status in [
            ("OMS-0011", APPLE, "AAPL", "SELL", "20", "190.1", "3802", "USD", "1", "BOOKED"),
            ("OMS-0003", SAP, "SAP", "BUY", "50", "187.36", "9368", "EUR", "2.5", "SETTLED"),
            ("OMS-0002", MICROSOFT, "MSFT", "SELL", "10", "415.5", "4155", "USD", "0", "CANCELLED")]:
        trade = blotter.trade(ref)
        expected.append(",".join([
            str(trade.pk), ref, trade.trade_date.isoformat(), trade.settlement_date.isoformat(), "HOUSE",
            trade.counterparty.code, isin, symbol, side, qty, px, gross, ccy, comm, status, "UNMATCHED", "1", "0",
            trade.created_at.isoformat()]))
    assert lines[1:] == expected


def test_csv_export_applies_every_filter_of_the_page_and_ignores_the_page_cursor(signed_in, blotter):
    d1 = blotter.d1.isoformat()
    lines = read_csv(signed_in.get(f"/records/trades/export.csv?trade_date={d1}&side=BUY&before=1"))
    assert [line.split(",")[1] for line in lines[1:]] == ["BIG-0001"]
    assert lines[1].split(",")[9:13] == ["200000", "415.5", "83100000", "USD"]
    assert read_csv(signed_in.get("/records/trades/export.csv?account=NOPE")) == [HEADER]


def test_csv_export_defuses_spreadsheet_formulas_in_text_but_not_numbers(signed_in, book, oms):
    day = trading_days_before(book.today - timedelta(days=7), 1)[0]
    book_trades(oms, [(ref, "HOUSE", "BRKR-A", APPLE, "BUY", "1", "190", day, "0")
                      for ref in ('=HYPERLINK("http://x","y")', "+1+1", "-2", "@SUM(A1)", "OMS=1")])
    lines = read_csv(signed_in.get("/records/trades/export.csv"))
    rows = list(csv.reader(io.StringIO("\n".join(lines))))
    # Newest first; a formula sign only matters at the start of a cell.
    assert [row[1] for row in rows[1:]] == ["OMS=1", "'@SUM(A1)", "'-2", "'+1+1", '\'=HYPERLINK("http://x","y")']
    assert {row[9] for row in rows[1:]} == {"1"} and {row[11] for row in rows[1:]} == {"190"}


def test_csv_export_is_sent_in_blocks_of_whole_lines(signed_in, blotter, monkeypatch):
    from backoffice.core import csv_export

    whole = b"".join(signed_in.get("/records/trades/export.csv").streaming_content)
    assert whole.count(b"\r\n") == 7  # under a block: the header and six trades in one
    monkeypatch.setattr(csv_export, "BLOCK_BYTES", len(whole) // 2)
    blocks = list(signed_in.get("/records/trades/export.csv").streaming_content)
    assert len(blocks) == 2 and b"".join(blocks) == whole
    assert all(block.endswith(b"\r\n") for block in blocks)


# Trade detail ----------------------------------------------------------------------------------

def test_trade_detail_shows_the_timeline_of_its_lifecycle(signed_in, amended):
    doc = lxml.html.fromstring(signed_in.get(f"/records/trades/{amended.pk}/").content.decode())
    items = [" ".join(li.text_content().split()) for li in doc.xpath('//ol[@class="timeline"]/li')]
    assert len(items) == 3
    assert items[0].startswith("Booked ") and items[0].endswith("New → Booked by oms")
    assert items[1].startswith("Amended ") and items[1].endswith("Booked → Booked by oms Price per fill report")
    assert items[2].endswith("Booked → Booked by oms Second fill allocated")


def test_trade_detail_lists_every_version_and_highlights_what_each_amendment_changed(signed_in, amended):
    response = signed_in.get(f"/records/trades/{amended.pk}/")
    rows = table_rows(response, "trade-versions")
    assert [row[:8] + row[9:] for row in rows] == [
        ["v1", "100", "189.25", "18,925.00", amended.settlement_date.isoformat(), "5.00", "Booked", "Submitted",
         "oms", ""],
        ["v2", "100", "189.30", "18,930.00", amended.settlement_date.isoformat(), "5.00", "Booked", "Amended",
         "oms", "Price per fill report"],
        ["v3 current", "150", "189.30", "28,395.00", amended.settlement_date.isoformat(), "7.50", "Booked",
         "Amended", "oms", "Second fill allocated"],
    ]
    doc = lxml.html.fromstring(response.content.decode())
    changed = [[(" ".join(td.text_content().split()), td.get("title"))
                for td in tr.xpath('./td[contains(@class, "changed")]')]
               for tr in doc.xpath('//table[@id="trade-versions"]/tbody/tr')]
    assert changed == [[], [("189.30", "was 189.25")], [("150", "was 100"), ("7.50", "was 5.00")]]


def test_trade_detail_shows_every_field_and_links_to_inventory_and_instrument(signed_in, blotter):
    trade = blotter.trade("OMS-0010")
    response = signed_in.get(f"/records/trades/{trade.pk}/")
    doc = lxml.html.fromstring(response.content.decode())
    fields = {" ".join(dt.text_content().split()): " ".join(dt.getnext().text_content().split())
              for dt in doc.xpath('//section[@id="trade-fields"]//dt')}
    assert fields == {
        "Instrument": f"VOD {VODAFONE} prices Vodafone XLON · equity", "Side": "Sell", "Quantity": "1,000",
        "Price": "0.7126 GBP", "Gross amount": "712.60 GBP", "Commission": "1.00 GBP",
        "Account": "ACC-001 Client One", "Counterparty": "NSCC NSCC",
        "Trade date": f"{blotter.d2.isoformat()} as-of", "Settlement date": trade.settlement_date.isoformat(),
        "Status": "Booked", "Match status": "Unmatched", "Settled quantity": "0 of 1,000", "Version": "1",
        "External ref": "OMS-0010", "Submitted by": "oms",
        "Submitted at": trade.created_at.strftime("%Y-%m-%d %H:%M:%S"),
        "Last changed": trade.updated_at.strftime("%Y-%m-%d %H:%M:%S"),
        "Request hash": trade.request_hash[:16] + "…",
    }
    hrefs = doc.xpath('//section[@id="trade-fields"]//a/@href')
    assert "/records/inventory/?account=ACC-001" in hrefs
    assert f"/records/instruments/?search={VODAFONE}" in hrefs
    assert "/records/trades/?account=ACC-001" in hrefs
    assert b'id="hold-reasons"' not in response.content
    assert table_rows(response, "trade-versions")[0][0] == "v1 current"


def test_a_held_trade_shows_why(signed_in, blotter):
    response = signed_in.get(f"/records/trades/{blotter.ids['BIG-0001']}/")
    box = lxml.html.fromstring(response.content.decode()).xpath('//*[@id="hold-reasons"]')[0]
    text = " ".join(box.text_content().split())
    assert text.startswith("Held by pre-trade checks: [notional-hold] Notional 83,100,000.00 USD exceeds the limit of")
    assert "msg-warning" in box.get("class")


def test_an_unknown_trade_is_not_found(signed_in, blotter):
    assert signed_in.get("/records/trades/999999/").status_code == 404


def test_trade_detail_costs_a_fixed_number_of_queries(signed_in, amended, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        assert signed_in.get(f"/records/trades/{amended.pk}/").status_code == 200


def test_an_invalid_status_or_side_says_so_instead_of_being_ignored(signed_in, blotter):
    response = signed_in.get("/records/trades/?status=BOGUS&side=UP&account=ACC-001")
    content = response.content.decode()
    assert content.count("Select a valid choice.") == 2
    assert refs(response) == ["BIG-0001", "OMS-0010", "OMS-0001"]  # the valid filter still applies
