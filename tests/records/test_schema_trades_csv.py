"""The trade's two CSV files, the blotter's download and the books-and-records file, follow one CSV rule
(backoffice.core.csv_export): every text cell guarded against formulas, decimals plain, timestamps in
UTC, and both parse back with the standard csv reader to exactly the values of the books."""

import csv
import io
from datetime import timedelta
from decimal import Decimal, localcontext

import pytest

from backoffice.core.fields import format_decimal
from records.exports.services import export_csv
from records.reference.models import Account, Counterparty, Instrument
from records.trades import selectors
from records.trades.models import Trade
from tests.conftest import APPLE, LEI_A, make_user
from tests.records.helpers_exports import utc

pytestmark = pytest.mark.django_db


@pytest.fixture
def trades(day):
    """A trade whose every text column starts with a formula character, and an ordinary one.

    Written straight to the tables: reference-data and trade services refuse most of these codes,
    but the rows of a file must not depend on every path into the books having been that careful.
    """
    hostile_user = make_user("@oms")
    hostile = Trade.objects.create(
        external_ref="=1+1", submitted_by=hostile_user,
        account=Account.objects.create(code="@ACC", name="At", kind="CLIENT", base_currency="USD"),
        counterparty=Counterparty.objects.create(code="+CP", name="Plus", lei=LEI_A),
        instrument=Instrument.objects.create(isin="=S0378331005", symbol="-AAPL", name="Minus", asset_class="EQUITY",
                                             currency="USD", market_id="XNAS"),
        side="-BUY", quantity=Decimal("1234567.123456"), price=Decimal("189.12345678"), currency="@US",
        trade_date=day, settlement_date=day + timedelta(days=1), commission=Decimal("5.5"), status="\tBOOKED",
        match_status="\rMATCHED", request_hash="0" * 64)
    ordinary = Trade.objects.create(
        external_ref="OMS-1", submitted_by=make_user("oms"),
        account=Account.objects.create(code="ACC-1", name="One", kind="CLIENT", base_currency="USD"),
        counterparty=Counterparty.objects.create(code="BRKR-A", name="Broker A", lei="549300EXMNSS6W5ZD872"),
        instrument=Instrument.objects.create(isin=APPLE, symbol="AAPL", name="Apple", asset_class="EQUITY",
                                             currency="USD", market_id="XNAS"),
        side="SELL", quantity=Decimal("0.5"), price=Decimal("0.00000001"), currency="USD", trade_date=day,
        settlement_date=day + timedelta(days=2), commission=Decimal(0), status="BOOKED", match_status="UNMATCHED",
        request_hash="1" * 64)
    return [Trade.objects.get(pk=hostile.pk), Trade.objects.get(pk=ordinary.pk)]


def parse(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def exact_gross(trade: Trade) -> str:
    with localcontext(prec=100):
        return format_decimal(trade.quantity * trade.price)


def terms(trade: Trade, *, guarded: bool) -> tuple[list[str], list[str]]:
    """The cells of the terms shared by both files, up to the price and after it."""
    def text(value: str) -> str:
        return "'" + value if guarded else value

    return ([str(trade.pk), text(trade.external_ref), trade.trade_date.isoformat(), trade.settlement_date.isoformat(),
             text(trade.account.code), text(trade.counterparty.code), text(trade.instrument.isin),
             text(trade.instrument.symbol), text(trade.side), format_decimal(trade.quantity),
             format_decimal(trade.price)],
            [text(trade.currency), format_decimal(trade.commission), text(trade.status), text(trade.match_status),
             str(trade.version), format_decimal(trade.settled_quantity)])


def test_the_blotter_download_guards_every_text_column_and_parses_back_exactly(client, trades):
    hostile, ordinary = trades
    client.force_login(make_user("viewer"))
    body = b"".join(client.get("/records/trades/export.csv").streaming_content).decode()
    rows = parse(body)
    assert rows[0] == [header for header, _path in selectors.TRADE_EXPORT_COLUMNS]
    expected = []
    for trade, guarded in ((ordinary, False), (hostile, True)):  # newest first
        head, tail = terms(trade, guarded=guarded)
        expected.append([*head, exact_gross(trade), *tail, utc(trade.created_at)])
    assert rows[1:] == expected
    assert rows[2][11] == "233485602.01493974023168"  # the gross amount, every digit


def test_the_books_and_records_file_guards_every_text_column_and_parses_back_exactly(trades, day):
    hostile, ordinary = trades
    rows = parse("".join(export_csv("trades", date_from=day, date_to=day)))
    assert rows[0] == [header for header, _path in selectors.TRADE_RECORD_COLUMNS]
    expected = []
    for trade, guarded in ((hostile, True), (ordinary, False)):  # by trade date, then id
        head, tail = terms(trade, guarded=guarded)
        submitter = trade.submitted_by.username
        expected.append([*head, *tail, "'" + submitter if guarded else submitter, utc(trade.created_at),
                         utc(trade.updated_at)])
    assert rows[1:] == expected


def test_both_files_write_the_same_cells_for_the_same_trade(client, trades, day):
    client.force_login(make_user("viewer"))
    download = parse(b"".join(client.get("/records/trades/export.csv").streaming_content).decode())
    record_file = parse("".join(export_csv("trades", date_from=day, date_to=day)))
    download_columns = [header for header, _path in selectors.TRADE_EXPORT_COLUMNS]
    record_columns = [header for header, _path in selectors.TRADE_RECORD_COLUMNS]
    shared = [header for header in download_columns if header in record_columns]
    assert len(shared) == 18 and "created_at" in shared
    by_id = {row[0]: row for row in record_file[1:]}
    assert len(download) == 3 and len(by_id) == 2
    for row in download[1:]:
        other = by_id[row[0]]
        for header in shared:  # timestamps included: UTC in both
            assert row[download_columns.index(header)] == other[record_columns.index(header)], header
        assert row[download_columns.index("created_at")].endswith("+00:00")
