"""What the trade tests share: a trade input, the API's request helpers, the blotter the dashboard and admin
tests look at (its fixtures offered to every test module here by tests/records/conftest.py), and the invariant
that positions equal the sum of their trades."""

import datetime as dt
import json
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Case, F, Sum, When

from records.positions.models import Position, StockMovement
from records.trades import services as svc
from records.trades.models import Trade
from tests.conftest import APPLE, MICROSOFT, SAP, VODAFONE, make_user
from tests.data import price, trading_days_before

D = Decimal


def trade_input(ref="C-1", **overrides):
    values = {"external_ref": ref, "account": "ACC-001", "counterparty": "BRKR-A", "instrument": APPLE,
              "side": "BUY", "quantity": Decimal("100"), "price": Decimal("189.25"),
              "trade_date": dt.date(2026, 11, 20)}
    return svc.TradeInput(**{**values, **overrides})


def assert_positions_equal_sum_of_trades():
    signed = Case(When(side="BUY", then=F("quantity")), default=-F("quantity"))
    expected: dict = {}
    for row in (Trade.objects.filter(status__in=Trade.POSITION_STATUSES).values("account_id", "instrument_id")
                .annotate(q=Sum(signed))):
        expected[(row["account_id"], row["instrument_id"])] = row["q"]
    for row in StockMovement.objects.values("account_id", "instrument_id").annotate(q=Sum("quantity")):
        key = (row["account_id"], row["instrument_id"])
        expected[key] = expected.get(key, 0) + row["q"]
    actual = {(p.account_id, p.instrument_id): p for p in Position.objects.all()}
    for key in set(expected) | set(actual):
        pos = actual.get(key)
        traded = pos.traded_quantity if pos else D(0)
        assert traded == expected.get(key, D(0)), key
        if pos:
            assert pos.traded_quantity == pos.settled_quantity + pos.pending_receipt - pos.pending_delivery


# The API ---------------------------------------------------------------------------------------------

@pytest.fixture
def refdata(instruments, accounts, counterparties):
    return {"instruments": instruments, "accounts": accounts, "counterparties": counterparties}


def body(**overrides):
    trade = {"external_ref": "OMS-000123", "account": "ACC-001", "counterparty": "BRKR-A", "instrument": APPLE,
             "side": "BUY", "quantity": "100", "price": "189.25", "currency": "USD", "trade_date": "2026-11-20",
             "settlement_date": None, "commission": "5.00"}
    return {**trade, **overrides}


def post(client, url, data):
    return client.post(url, data=json.dumps(data), content_type="application/json")


def submit(client, **overrides):
    return post(client, "/api/v1/trades/", body(**overrides))


# The blotter of the dashboard and admin tests ----------------------------------------------------------

@dataclass(frozen=True)
class Blotter:
    """Six trades over three trade dates (d3 oldest); ids by external ref."""

    d1: date
    d2: date
    d3: date
    ids: dict[str, int]

    def trade(self, ref: str) -> Trade:
        return Trade.objects.get(pk=self.ids[ref])


def book_trades(user, rows) -> dict[str, int]:
    """Submit (ref, account, counterparty, isin, side, quantity, price, trade_date, commission) in one batch."""
    items = [(n, svc.TradeInput(external_ref=ref, account=account, counterparty=cpty, instrument=isin, side=side,
                                quantity=D(qty), price=D(px), trade_date=day, commission=D(comm)))
             for n, (ref, account, cpty, isin, side, qty, px, day, comm) in enumerate(rows)]
    results = svc.trade_submit_batch(submitted_by=user, items=items)
    assert [results[n].status for n in range(len(rows))] == ["created"] * len(rows), results
    return {rows[n][0]: results[n].trade_id for n in range(len(rows))}


@pytest.fixture
def oms(db):
    return make_user("oms", "front_office")


@pytest.fixture
def blotter(book, oms, instruments) -> Blotter:
    d1, d2, d3 = trading_days_before(book.today - timedelta(days=7), 3)
    price(instruments["AAPL"], d3, "180.00")
    ids = book_trades(oms, [
        ("OMS-0001", "ACC-001", "BRKR-A", APPLE, "BUY", "100", "189.25", d3, "5"),
        ("OMS-0002", "HOUSE", "NSCC", MICROSOFT, "SELL", "10", "415.50", d3, "0"),
        ("OMS-0003", "HOUSE", "BRKR-A", SAP, "BUY", "50", "187.36", d2, "2.50"),
        ("OMS-0010", "ACC-001", "NSCC", VODAFONE, "SELL", "1000", "0.7126", d2, "1"),
        ("OMS-0011", "HOUSE", "BRKR-A", APPLE, "SELL", "20", "190.10", d1, "1"),
        # 83.1 million notional: above the 50 million hold limit, so HELD.
        ("BIG-0001", "ACC-001", "BRKR-A", MICROSOFT, "BUY", "200000", "415.50", d1, "0"),
    ])
    svc.trade_cancel(actor=oms, trade_id=ids["OMS-0002"], reason="Booked twice")
    # Settlement is a later issue: set the status the services cannot reach yet.
    Trade.objects.filter(pk=ids["OMS-0003"]).update(status="SETTLED")
    return Blotter(d1=d1, d2=d2, d3=d3, ids=ids)


@pytest.fixture
def many_trades(book, oms):
    """120 booked trades (ids ascending with their number), over two accounts."""
    day = trading_days_before(book.today - timedelta(days=7), 1)[0]
    with transaction.atomic():
        ids = book_trades(oms, [(f"BULK-{n:03d}", "HOUSE" if n % 3 else "ACC-001", "BRKR-A", APPLE, "BUY", "1",
                                 "190", day, "0") for n in range(120)])
    return [ids[f"BULK-{n:03d}"] for n in range(120)]


@pytest.fixture
def amended(blotter, oms):
    trade_id = blotter.ids["OMS-0001"]
    svc.trade_amend(actor=oms, trade_id=trade_id, changes={"price": D("189.30")}, reason="Price per fill report")
    svc.trade_amend(actor=oms, trade_id=trade_id, changes={"quantity": D("150"), "commission": D("7.50")},
                    reason="Second fill allocated")
    return Trade.objects.get(pk=trade_id)
