"""The export tests' book of records (offered to every test module here by tests/records/conftest.py) and the
readers of what the exports write."""

from datetime import UTC, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from records.cash.services import cash_movement_create
from records.exports.services import export_csv
from records.positions.services import stock_movement_create
from records.reference.services.reference import PriceInput, price_upsert
from tests.conftest import make_user
from tests.records.helpers_retention import trade


def utc(value) -> str:
    return value.astimezone(UTC).isoformat()


@pytest.fixture
def day():
    return timezone.localdate() - timedelta(days=3)


@pytest.fixture
def export_book(instruments, accounts, counterparties, day):
    """Three trades, two cash movements, stock and a price around `day` (not tests/pages.py's `book`)."""
    user = make_user("oms")
    common = {"user": user, "counterparty": counterparties["BRKR-A"], "events": False}
    trades = [
        trade(account=accounts["ACC-001"], instrument=instruments["AAPL"], trade_date=day,
              external_ref="=cmd|' /C calc'!A0", **common),
        trade(account=accounts["HOUSE"], instrument=instruments["SAP"], trade_date=day + timedelta(days=1),
              status="BOOKED", side="SELL", quantity="0.5", price="187.36", commission="0", external_ref="OMS-2",
              **common),
        trade(account=accounts["HOUSE"], instrument=instruments["SAP"], trade_date=day - timedelta(days=1),
              external_ref="OUT-OF-RANGE", **common),
    ]
    cash = [
        cash_movement_create(actor="test", account=accounts["ACC-001"], currency="USD", amount=Decimal("1000000.50"),
                             value_date=day, reference="WIRE-1", description='Deposit, "initial"').movement,
        cash_movement_create(actor="test", account=accounts["ACC-001"], currency="USD", amount=Decimal("-0.25"),
                             value_date=day, reference="FEE-1", description="+1 fee", kind="FEE").movement,
    ]
    stock_movement_create(actor="test", account=accounts["HOUSE"], instrument=instruments["AAPL"],
                          quantity=Decimal("100"), value_date=day, reference="S-1")
    price_upsert(actor="test", prices=[PriceInput(instrument=instruments["AAPL"], price_date=day,
                                                  price=Decimal("189.255"), currency="USD", source="S")])
    return {"trades": trades, "cash": cash, "user": user}


def text(name, date_from, date_to) -> str:
    return "".join(export_csv(name, date_from=date_from, date_to=date_to))
