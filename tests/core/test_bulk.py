"""The set-based helpers hot paths use instead of the ORM: one round trip for many reads, pipelined writes."""

import pytest
from django.db import IntegrityError, connection, transaction

from backoffice.core.bulk import RowLoader, in_list, insert_rows, pipelined, select_all
from records.reference.models import Account, Market

pytestmark = pytest.mark.django_db

_ACCOUNT = RowLoader(Account)


def _accounts_sql(codes):
    where, params = in_list("a.code", codes)
    return f"SELECT {_ACCOUNT.columns('a')} FROM records_account a WHERE {where} ORDER BY a.code", params  # noqa: S608


def test_row_loader_builds_what_the_orm_builds(accounts):
    [rows] = select_all([_accounts_sql([a.code for a in Account.objects.all()])])
    loaded = [_ACCOUNT.load(row) for row in rows]
    expected = list(Account.objects.order_by("code"))
    assert len(loaded) == len(expected) > 0
    for got, want in zip(loaded, expected, strict=True):
        for field in Account._meta.concrete_fields:
            assert getattr(got, field.attname) == getattr(want, field.attname), field.name
            assert type(getattr(got, field.attname)) is type(getattr(want, field.attname)), field.name
        assert not got._state.adding and got._state.db == "default"


def test_select_all_answers_each_query_in_order_in_one_round_trip(accounts):
    codes = sorted(Account.objects.values_list("code", flat=True))
    sent = []

    def watch(execute, sql, params, many, context):
        # One message holding every statement (client-side binding), or each one pipelined.
        pgconn = getattr(connection.connection, "pgconn", None)
        sent.append((sql.count("; ") + 1, bool(pgconn and pgconn.pipeline_status)))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(watch):
        first, missing, count = select_all([_accounts_sql(codes[:2]), _accounts_sql(["NO-SUCH"]),
                                            ("SELECT COUNT(*) FROM records_market", [])])
    assert [row[1] for row in first] == codes[:2]
    assert missing == []
    assert count == [(Market.objects.count(),)]
    assert sent in ([(3, False)], [(1, True)] * 3), sent


def test_select_all_with_client_side_binding_sends_one_message(accounts):
    """DB_SERVER_SIDE_BINDING=false: the statements go together in one simple-protocol message."""
    from django.db.backends.postgresql.base import Cursor as ClientSideCursor

    connection.ensure_connection()
    raw = connection.connection
    original = raw.cursor_factory
    raw.cursor_factory = ClientSideCursor
    sent = []
    try:
        with connection.execute_wrapper(lambda execute, sql, *args: sent.append(sql) or execute(sql, *args)):
            first, count = select_all([_accounts_sql(["ACC-001"]), ("SELECT COUNT(*) FROM records_market", [])])
    finally:
        raw.cursor_factory = original
    assert [row[1] for row in first] == ["ACC-001"]
    assert count == [(Market.objects.count(),)]
    assert len(sent) == 1 and sent[0].count("; ") == 1


def test_in_list_of_nothing_matches_nothing(accounts):
    assert select_all([_accounts_sql([])]) == [[]]


@pytest.mark.django_db(transaction=True)
def test_an_error_inside_a_pipeline_is_djangos_and_rolls_the_transaction_back(accounts):
    account = Account.objects.first()
    columns = [f.column for f in Account._meta.concrete_fields if f.column != "id"]
    row = tuple(getattr(account, f.attname) for f in Account._meta.concrete_fields if f.column != "id")
    before = Account.objects.count()
    with pytest.raises(IntegrityError), transaction.atomic(), pipelined():
        insert_rows(Account, columns, [row])  # the same code again: unique violation
        Account.objects.filter(pk=account.pk).update(name="changed")
    assert Account.objects.count() == before
    assert Account.objects.get(pk=account.pk).name == account.name


def test_a_big_insert_inside_a_pipeline_takes_the_insert_path(accounts):
    """COPY cannot run in pipeline mode: insert_rows must not try it there."""
    market = Market.objects.first()
    rows = [(f"Q{i:03d}", f"Market {i}", market.country, market.settlement_calendar) for i in range(60)]
    with transaction.atomic(), pipelined():
        assert insert_rows(Market, ["mic", "name", "country", "settlement_calendar"], rows) == 60
    assert Market.objects.filter(mic__startswith="Q").count() == 60


@pytest.mark.usefixtures("instruments", "counterparties")
def test_insert_many_writes_rows_that_reference_each_other(accounts):
    import datetime as dt
    from decimal import Decimal

    from django.utils import timezone

    from backoffice.core.bulk import allocate_ids, insert_many
    from records.reference.models import Counterparty, Instrument
    from records.trades.models import Trade, TradeEvent
    from tests.conftest import make_user

    account, counterparty = Account.objects.first(), Counterparty.objects.first()
    instrument = Instrument.objects.first()
    user = make_user("many")
    now = timezone.now()
    sent = []
    with transaction.atomic(), connection.execute_wrapper(
            lambda execute, sql, *args: sent.append(sql) or execute(sql, *args)):
        [trade_id] = allocate_ids(Trade, 1)
        sent.clear()
        insert_many([
            (Trade, ["id", "external_ref", "submitted_by_id", "account_id", "counterparty_id", "instrument_id",
                     "side", "quantity", "price", "currency", "trade_date", "settlement_date", "commission", "status",
                     "match_status", "version", "settled_quantity", "request_hash", "hold_reasons", "created_at",
                     "updated_at"],
             [(trade_id, "MANY-1", user.pk, account.pk, counterparty.pk, instrument.pk, "BUY", Decimal(5),
               Decimal("1.5"), instrument.currency, dt.date(2026, 11, 20), dt.date(2026, 11, 23), Decimal(0), "BOOKED",
               "UNMATCHED", 1, Decimal(0), "h", "[]", now, now)]),
            (TradeEvent, ["trade_id", "at", "actor_label", "action", "from_status", "to_status", "reason"],
             [(trade_id, now, "test", "BOOK", "NEW", "BOOKED", "")]),
            (TradeEvent, ["trade_id", "at", "actor_label", "action", "from_status", "to_status", "reason"], []),
        ])
    assert len(sent) == 1, sent
    trade = Trade.objects.get(pk=trade_id)
    assert (trade.external_ref, trade.quantity, trade.price) == ("MANY-1", 5, Decimal("1.5"))
    assert list(trade.events.values_list("action", flat=True)) == ["BOOK"]


def test_batch_values_are_text_postgresql_reads_back_to_the_same_instant(db):
    import datetime as dt

    from backoffice.core.bulk import batch_value

    moment = dt.datetime(2026, 12, 1, 20, 58, 19, tzinfo=dt.UTC)  # no microseconds: still written out
    day = dt.date(2026, 11, 20)
    assert batch_value(moment) == "2026-12-01T20:58:19.000000+00:00"
    assert batch_value(day) == "2026-11-20"
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::timestamptz = %s, %s::date", [batch_value(moment), moment, batch_value(day)])
        assert cursor.fetchone() == (True, day)
    with pytest.raises(ValueError):
        batch_value(dt.datetime(2026, 12, 1))
