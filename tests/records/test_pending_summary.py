# ruff: noqa: F811 - the fixtures imported from the helpers are parameters of the tests
"""The pending-settlement summary (records_pendingsettlement, records migration 0019): whatever changes the trades
(inserts, COPY, status and settled-quantity changes, amendments, deletes; by the ORM, in bulk or in plain SQL), the
table equals the plain GROUP BY of the unsettled trades, exactly, and the projection read from it equals the one the
inventory page used to compute from the trades. Netting's BOOKED -> CLEARED writes nothing to it.
"""

import itertools
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.db.models import Count, DecimalField, ExpressionWrapper, F, Q, Sum
from django.db.models.functions import Greatest, Least
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from records.positions.models import PendingSettlementTotal
from records.positions.projection import PENDING_STATUSES, PendingSettlement, pending_settlements
from records.reference.models import Account, Counterparty, Instrument
from records.trades.models import Trade
from tests.clearing.helpers_netting import SETTLES, firm, net  # noqa: F401
from tests.conftest import make_user

pytestmark = pytest.mark.django_db
D = Decimal
TRADE_DATE = date(2026, 11, 20)
STATUSES = ("BOOKED", "CLEARED", "SETTLED", "PARTIALLY_SETTLED", "FAILED", "CANCELLED", "HELD")
_runs = itertools.count()


# --- the oracles: what the table and the projection must equal, read from the trades themselves ---------------

def summary_from_trades() -> dict:
    """The plain GROUP BY of the unsettled part of the trades, by the table's key."""
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT settlement_date, instrument_id, currency, account_id,
                   COALESCE(SUM(quantity - settled_quantity) FILTER (WHERE side = 'BUY'), 0),
                   COALESCE(SUM(quantity - settled_quantity) FILTER (WHERE side = 'SELL'), 0),
                   COALESCE(SUM((quantity - settled_quantity) * price) FILTER (WHERE side = 'BUY'), 0),
                   COALESCE(SUM((quantity - settled_quantity) * price) FILTER (WHERE side = 'SELL'), 0),
                   COUNT(*)
            FROM records_trade
            WHERE status IN ('BOOKED', 'CLEARED', 'FAILED', 'PARTIALLY_SETTLED') AND settled_quantity < quantity
            GROUP BY 1, 2, 3, 4""")
        return {tuple(row[:4]): tuple(row[4:]) for row in cursor.fetchall()}


def summary_table() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT settlement_date, instrument_id, currency, account_id, receive, deliver, cash_out, "
                       "cash_in, trades FROM records_pendingsettlement")
        return {tuple(row[:4]): tuple(row[4:]) for row in cursor.fetchall()}


def pending_settlements_from_trades(*, account_code=None, isin=None, limit=200) -> list[PendingSettlement]:
    """The projection as it was computed before the summary: one aggregate over the trades (a scan of the blotter)."""
    trades = Trade.objects.filter(status__in=PENDING_STATUSES, settled_quantity__lt=F("quantity"))
    if account_code:
        trades = trades.filter(account__code=account_code)
    if isin:
        trades = trades.filter(instrument__isin=isin)
    unsettled = ExpressionWrapper(F("quantity") - F("settled_quantity"),
                                  output_field=DecimalField(max_digits=24, decimal_places=6))
    value = ExpressionWrapper((F("quantity") - F("settled_quantity")) * F("price"),
                              output_field=DecimalField(max_digits=48, decimal_places=14))
    buy, sell = Q(side=Trade.Side.BUY), Q(side=Trade.Side.SELL)
    rows = (trades.values("settlement_date", "instrument__isin", "instrument__symbol", "instrument__name", "currency")
            .annotate(receive=Sum(unsettled, filter=buy, default=0), deliver=Sum(unsettled, filter=sell, default=0),
                      cash_out=Sum(value, filter=buy, default=0), cash_in=Sum(value, filter=sell, default=0),
                      trades=Count("id"), accounts=Count("account_id", distinct=True))
            .order_by("settlement_date", "instrument__symbol", "instrument__isin", "currency"))[:limit]
    return [PendingSettlement.of_row(row) for row in rows]


def assert_summary_exact() -> None:
    table, expected = summary_table(), summary_from_trades()
    assert table == expected  # Decimal equality: exact, whatever the scale
    assert all(totals[4] > 0 for totals in table.values())  # only open keys are kept
    for kwargs in ({}, {"account_code": "ACC-001"}, {"account_code": "HOUSE"}, {"isin": "US0378331005"},
                   {"account_code": "HOUSE", "isin": "DE0007164600"}, {"limit": 1}, {"limit": 3},
                   {"account_code": "ACC-001", "limit": 2}):
        assert pending_settlements(**kwargs) == pending_settlements_from_trades(**kwargs), kwargs


# --- random histories of trades -------------------------------------------------------------------------------

trade_specs = st.lists(st.tuples(
    st.sampled_from(["BUY", "SELL"]),
    st.sampled_from(["1", "100", "0.000001", "2.5", "1000.123456"]),  # quantity
    st.sampled_from(["189.25", "0.7126", "1", "0.00000001", "415.12345678"]),  # price
    st.sampled_from(STATUSES),
    st.sampled_from(["0", "0.5", "1"]),  # the share of the quantity settled
    # Few keys (2 accounts, 2 instruments, 2 dates, 2 currencies), so that most keys hold several trades: a key
    # with one trade is deleted when it closes, whatever its sums were.
    st.integers(0, 1), st.sampled_from([0, 2]), st.integers(0, 1),  # account, instrument (SAP, AAPL), day
    st.sampled_from(["USD", "EUR"]),
), min_size=1, max_size=10)
# Which of the trades a change touches: positions in the list of trade ids (taken modulo its length).
chosen = st.lists(st.integers(0, 40), min_size=1, max_size=3)
operations = st.lists(st.one_of(
    st.tuples(st.just("bulk_create"), trade_specs),
    st.tuples(st.just("insert_sql"), trade_specs),
    st.tuples(st.just("status"), chosen, st.sampled_from(STATUSES), st.sampled_from(["keep", "none", "half", "all"])),
    st.tuples(st.just("status_sql"), chosen, st.sampled_from(STATUSES)),
    st.tuples(st.just("netting"), chosen),
    st.tuples(st.just("settled_quantity"), chosen, st.sampled_from(["0", "0.5", "1", "99.999999", "5000"])),
    st.tuples(st.just("amend"), chosen, st.sampled_from(["quantity", "price", "settlement_date", "account"]),
              st.integers(0, 2)),
    st.tuples(st.just("mixed_sql"), st.integers(2, 4)),
    st.tuples(st.just("delete"), chosen),
    st.tuples(st.just("delete_sql"), chosen),
), min_size=1, max_size=12)


class History:
    """Trades written straight to the table (no services): the triggers must follow any statement."""

    def __init__(self, run: int):
        self.run = run
        self.user = make_user(f"pending{run}", "front_office")
        self.accounts = list(Account.objects.filter(code__in=("ACC-001", "HOUSE")).order_by("code"))
        self.instruments = list(Instrument.objects.order_by("isin"))
        self.counterparty = Counterparty.objects.get(code="BRKR-A")
        self.refs = 0

    def trade(self, side, quantity, price, status, share, account, instrument, day, currency) -> Trade:
        self.refs += 1
        quantity = D(quantity)
        return Trade(external_ref=f"PS-{self.run}-{self.refs}", submitted_by=self.user,
                     account=self.accounts[account], counterparty=self.counterparty,
                     instrument=self.instruments[instrument], side=side, quantity=quantity, price=D(price),
                     currency=currency, trade_date=TRADE_DATE, settlement_date=TRADE_DATE + timedelta(days=day),
                     status=status, settled_quantity=(quantity * D(share)).quantize(D("0.000001")),
                     request_hash="0" * 64)

    def ids(self, positions) -> list[int]:
        ids = list(Trade.objects.filter(external_ref__startswith=f"PS-{self.run}-").order_by("id")
                   .values_list("id", flat=True))
        return sorted({ids[p % len(ids)] for p in positions}) if ids else []

    def apply(self, op) -> None:
        kind = op[0]
        if kind == "bulk_create":
            Trade.objects.bulk_create([self.trade(*spec) for spec in op[1]])
        elif kind == "insert_sql":  # one INSERT of several rows, as COPY and the trade files' SQL booking do
            rows = [self.trade(*spec) for spec in op[1]]
            with connection.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO records_trade (external_ref, submitted_by_id, account_id, counterparty_id, "
                    "instrument_id, side, quantity, price, currency, trade_date, settlement_date, commission, status, "
                    "match_status, version, settled_quantity, request_hash, hold_reasons, created_at, updated_at) "
                    "SELECT r.*, now(), now() FROM unnest(%s::text[], %s::int[], %s::bigint[], %s::bigint[], "
                    "%s::bigint[], %s::text[], %s::numeric[], %s::numeric[], %s::text[], %s::date[], %s::date[], "
                    "%s::numeric[], %s::text[], %s::text[], %s::int[], %s::numeric[], %s::text[], %s::jsonb[]) AS r",
                    [[t.external_ref for t in rows], [t.submitted_by_id for t in rows], [t.account_id for t in rows],
                     [t.counterparty_id for t in rows], [t.instrument_id for t in rows], [t.side for t in rows],
                     [t.quantity for t in rows], [t.price for t in rows], [t.currency for t in rows],
                     [t.trade_date for t in rows], [t.settlement_date for t in rows], [D(0) for _ in rows],
                     [t.status for t in rows], ["UNMATCHED" for _ in rows], [1 for _ in rows],
                     [t.settled_quantity for t in rows], [t.request_hash for t in rows], ["[]" for _ in rows]])
        elif kind == "status":
            _, positions, status, settled = op
            changes = {"status": status}
            if settled != "keep":
                changes["settled_quantity"] = {"none": D(0), "half": F("quantity") / 2, "all": F("quantity")}[settled]
            Trade.objects.filter(id__in=self.ids(positions)).update(**changes)
        elif kind == "status_sql":
            with connection.cursor() as cursor:
                cursor.execute("UPDATE records_trade SET status = %s WHERE id = ANY(%s)", [op[2], self.ids(op[1])])
        elif kind == "netting":  # netting's own change: the BOOKED trades become CLEARED, nothing else moves
            Trade.objects.filter(id__in=self.ids(op[1]), status="BOOKED").update(status="CLEARED")
        elif kind == "settled_quantity":
            Trade.objects.filter(id__in=self.ids(op[1])).update(settled_quantity=Least(F("quantity"), D(op[2])))
        elif kind == "amend":
            _, positions, field, n = op
            value = {"quantity": Greatest(F("settled_quantity"), D(n * 7 + 1)),
                     "price": D(n) + D("0.12345678"),
                     "settlement_date": TRADE_DATE + timedelta(days=n),
                     "account": self.accounts[n % 2]}[field]
            Trade.objects.filter(id__in=self.ids(positions)).update(**{field: value})
        elif kind == "mixed_sql":  # one statement whose rows change in different ways, some not at all
            with connection.cursor() as cursor:
                cursor.execute(
                    "UPDATE records_trade SET "
                    "status = CASE id %% %s WHEN 0 THEN 'SETTLED' WHEN 1 THEN 'CLEARED' ELSE status END, "
                    "settled_quantity = CASE id %% %s WHEN 0 THEN quantity ELSE settled_quantity END "
                    "WHERE external_ref LIKE %s", [op[1], op[1], f"PS-{self.run}-%"])
        elif kind == "delete":
            Trade.objects.filter(id__in=self.ids(op[1])).delete()
        elif kind == "delete_sql":
            with connection.cursor() as cursor:
                cursor.execute("DELETE FROM records_trade WHERE id = ANY(%s)", [self.ids(op[1])])


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations)
def test_the_summary_equals_the_group_by_of_the_trades_after_any_history(instruments, accounts, counterparties, ops):
    with transaction.atomic():
        history = History(next(_runs))
        for op in ops:
            history.apply(op)
            assert_summary_exact()
        transaction.set_rollback(True)  # the next example starts from no trades


def test_trades_booked_through_capture_and_settled_move_the_summary_exactly(firm):
    ids = firm.book(("ACC-001", "BRKR-B", "AAPL", "BUY", "100", "189.25"),
                    ("HOUSE", "BRKR-B", "AAPL", "SELL", "30", "190.10"),
                    ("ACC-001", "BRKR-B", "SAP", "SELL", "4", "187.36"))
    aapl, sap = firm.instruments["AAPL"].pk, firm.instruments["SAP"].pk
    acc, house = firm.accounts["ACC-001"].pk, firm.accounts["HOUSE"].pk
    assert {key[1:]: totals for key, totals in summary_table().items()} == {
        (aapl, "USD", acc): (D(100), D(0), D("18925"), D(0), 1),
        (aapl, "USD", house): (D(0), D(30), D(0), D("5703"), 1),
        (sap, "EUR", acc): (D(0), D(4), D(0), D("749.44"), 1)}
    Trade.objects.filter(pk=ids[0]).update(status="PARTIALLY_SETTLED", settled_quantity=D("99.5"))
    Trade.objects.filter(pk=ids[1]).update(status="SETTLED", settled_quantity=D(30))  # the key's last open trade
    Trade.objects.filter(pk=ids[2]).update(status="CANCELLED")
    assert {key[1:]: totals for key, totals in summary_table().items()} == {
        (aapl, "USD", acc): (D("0.5"), D(0), D("94.625"), D(0), 1)}
    assert_summary_exact()


def test_a_partly_settled_trade_counts_its_unsettled_part_until_deleted(instruments, accounts, counterparties):
    history = History(next(_runs))
    history.apply(("bulk_create", [("BUY", "100", "189.25", "PARTIALLY_SETTLED", "0.5", 0, 2, 0, "USD"),
                                   ("BUY", "1", "1", "BOOKED", "0", 0, 2, 0, "USD"),
                                   ("SELL", "2.5", "0.7126", "FAILED", "0", 0, 2, 0, "USD")]))
    assert list(summary_table().values()) == [(D("51"), D("2.5"), D("9463.5"), D("1.7815"), 3)]
    history.apply(("amend", [0], "price", 2))  # the partly settled one: 50 left at 2.12345678
    assert list(summary_table().values()) == [(D("51"), D("2.5"), D("107.172839"), D("1.7815"), 3)]
    history.apply(("delete_sql", [0]))
    assert list(summary_table().values()) == [(D("1"), D("2.5"), D("1"), D("1.7815"), 2)]
    assert_summary_exact()


def written_to_summary() -> tuple[int, int, int]:
    """Rows this transaction inserted, updated and deleted in the summary (PostgreSQL's own counters)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_xact_user_tables "
                       "WHERE relname = 'records_pendingsettlement'")
        return cursor.fetchone()


def test_netting_writes_nothing_to_the_summary(firm):
    firm.book(("ACC-001", "BRKR-B", "AAPL", "BUY", "100", "189.25"), ("HOUSE", "BRKR-B", "AAPL", "SELL", "30", "190"),
              ("ACC-001", "BRKR-B", "MSFT", "BUY", "7", "415"), ("ACC-001", "BRKR-B", "MSFT", "SELL", "2", "416"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM records_pendingsettlement ORDER BY id")
        before_rows = cursor.fetchall()
    before = written_to_summary()
    run = net()
    assert run.job.status == "COMPLETED"
    assert Trade.objects.filter(settlement_date=SETTLES, status="CLEARED").count() == 4
    assert written_to_summary() == before  # not a row inserted, updated (even to the same values) or deleted
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM records_pendingsettlement ORDER BY id")
        assert cursor.fetchall() == before_rows
    assert_summary_exact()


def test_settling_the_last_open_trade_of_a_key_deletes_its_row_and_only_its_row(firm):
    ids = firm.book(("ACC-001", "BRKR-B", "AAPL", "BUY", "100", "189.25"),
                    ("HOUSE", "BRKR-B", "AAPL", "BUY", "1", "189"))
    before = written_to_summary()
    Trade.objects.filter(pk=ids[0]).update(status="SETTLED", settled_quantity=F("quantity"))
    ins, upd, deleted = (after - was for after, was in zip(written_to_summary(), before, strict=True))
    assert (ins, upd, deleted) == (0, 1, 1)  # the key's row went to zero trades, then was deleted
    assert list(PendingSettlementTotal.objects.values_list("account__code", "trades")) == [("HOUSE", 1)]


@pytest.mark.django_db(transaction=True)
def test_truncating_the_trades_empties_the_summary(instruments, accounts, counterparties):
    history = History(next(_runs))
    history.apply(("bulk_create", [("BUY", "1", "1", "BOOKED", "0", 0, 0, 0, "USD")]))
    assert PendingSettlementTotal.objects.count() == 1
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE records_trade CASCADE")
    assert PendingSettlementTotal.objects.count() == 0
