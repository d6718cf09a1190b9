"""What the matching tests share: a firm to trade in, and trades and confirmations made through the services.

Trades are booked on TRADE_DATE (a Friday every market trades) and settle on SETTLES (T+1 for US
equities then); a confirmation is the broker's mirror of a trade unless told otherwise.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction

from clearing.matching.services import confirmations as confirmation_services
from clearing.matching.services.confirmations import ConfirmationInput
from clearing.models import Confirmation
from records.trades import services as trade_services
from records.trades.models import Trade
from records.trades.services import TradeInput
from tests.conftest import APPLE, MICROSOFT, make_user

TRADE_DATE = date(2026, 11, 20)
SETTLES = date(2026, 11, 23)
MIRROR = {"BUY": "SELL", "SELL": "BUY"}

__all__ = ["APPLE", "MICROSOFT", "SETTLES", "TRADE_DATE", "Firm", "firm"]


@dataclass
class Firm:
    oms: object  # front office: books trades
    broker: object  # a user submitting the broker's confirmations (front office)
    clerk: object  # operations: resolves breaks
    checker: object  # operations: approves force-matches
    instruments: dict
    accounts: dict
    counterparties: dict

    def trade(self, ref: str = "T-1", *, side: str = "BUY", quantity: str = "100", price: str = "189.25",
              account: str = "ACC-001", counterparty: str = "BRKR-A", instrument: str = APPLE,
              trade_date: date = TRADE_DATE, settlement_date: date | None = None) -> Trade:
        result = trade_services.trade_submit(submitted_by=self.oms, item=TradeInput(
            external_ref=ref, account=account, counterparty=counterparty, instrument=instrument, side=side,
            quantity=Decimal(quantity), price=Decimal(price), trade_date=trade_date,
            settlement_date=settlement_date))
        assert result.status == trade_services.CREATED, result.errors
        return Trade.objects.get(pk=result.trade_id)

    def item(self, ref: str = "C-1", *, side: str = "SELL", quantity: str = "100", price: str = "189.25",
             account: str = "ACC-001", counterparty: str = "BRKR-A", instrument: str = APPLE,
             trade_date: date = TRADE_DATE, settlement_date: date = SETTLES, trade_ref: str = "") -> ConfirmationInput:
        return ConfirmationInput(counterparty=counterparty, counterparty_ref=ref, account=account,
                                 instrument=instrument, side=side, quantity=Decimal(quantity), price=Decimal(price),
                                 trade_date=trade_date, settlement_date=settlement_date, trade_ref=trade_ref)

    def confirm(self, ref: str = "C-1", **terms) -> Confirmation:
        result = confirmation_services.confirmation_submit(submitted_by=self.broker, item=self.item(ref, **terms))
        assert result.status == confirmation_services.CREATED, result.errors
        return Confirmation.objects.get(pk=result.confirmation_id)

    def mirror_of(self, trade: Trade, ref: str = "C-1", **changes) -> Confirmation:
        """The broker's confirmation of our trade: their side mirrors ours; `changes` make it differ."""
        terms = {"side": MIRROR[trade.side], "quantity": str(trade.quantity), "price": str(trade.price),
                 "account": trade.account.code, "instrument": trade.instrument.isin,
                 "trade_date": trade.trade_date, "settlement_date": trade.settlement_date, **changes}
        return self.confirm(ref, **terms)


@pytest.fixture
def firm(instruments, accounts, counterparties) -> Firm:
    with transaction.atomic():
        oms = make_user("oms", "front_office")
        broker = make_user("broker-a", "front_office")
        clerk = make_user("clerk", "operations")
        checker = make_user("checker", "operations")
    return Firm(oms=oms, broker=broker, clerk=clerk, checker=checker, instruments=instruments, accounts=accounts,
                counterparties=counterparties)
