"""The maker-checker tests' world (offered to every test module here by tests/records/conftest.py) and what they
read back: every row a change could touch, and the audit trail."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction

from records.approvals import services as approvals
from records.approvals.models import ChangeRequest
from records.audit.models import AuditRecord
from records.cash import services as cash
from records.cash.models import CashBalance, CashMovement
from records.positions.models import Position, StockMovement
from records.reference.models import Account, Counterparty, Instrument
from records.trades import services as trades
from records.trades.models import Trade, TradeEvent
from tests.conftest import APPLE, make_user

PENDING, APPROVED, REJECTED, FAILED, WITHDRAWN = (s.value for s in ChangeRequest.Status)


@dataclass
class World:
    maker: object  # operations: proposes
    checker: object  # operations: approves
    outsider: object  # accounting: may approve nothing
    held_trade: Trade


@pytest.fixture
def world(instruments, accounts, counterparties) -> World:
    trader = make_user("trader", "front_office")
    with transaction.atomic():
        cash.cash_movement_create(actor="test", account=accounts["ACC-001"], currency="USD", amount=Decimal("1000"),
                                  value_date=date(2026, 11, 19), reference="DEP-1")
    # 60m notional is over the 50m hold limit: the trade is HELD by pre-trade checks.
    result = trades.trade_submit(submitted_by=trader, item=trades.TradeInput(
        external_ref="OMS-HELD", account="ACC-001", counterparty="BRKR-A", instrument=APPLE, side="BUY",
        quantity=Decimal("300000"), price=Decimal("200"), trade_date=date(2026, 11, 20)))
    assert result.trade.status == "HELD"
    return World(maker=make_user("maker", "operations"), checker=make_user("checker", "operations"),
                 outsider=make_user("accountant", "accounting"), held_trade=result.trade)


def books() -> dict:
    """Everything a change could touch, row by row."""
    models = (Account, Counterparty, Instrument, CashBalance, CashMovement, Position, StockMovement, Trade,
              TradeEvent)
    return {model.__name__: list(model.objects.order_by("pk").values()) for model in models}


def audits(record_type: str, **filters):
    return AuditRecord.objects.filter(record_type=record_type, **filters).order_by("id")


def propose_cash(w, amount="-250.25", account="ACC-001", **extra):
    payload = {"account": account, "currency": "USD", "amount": amount, "value_date": "2026-11-20", **extra}
    return approvals.change_propose(actor=w.maker, kind="cash.adjustment", payload=payload, reason="fix")
