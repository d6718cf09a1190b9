"""Shared set-up of the pre-trade rule tests (test_pretrade_rules_*.py): rules, cash, positions, prices, rates."""

import json
from datetime import date
from decimal import Decimal

from compliance.rules.models import ComplianceRule
from records.cash.models import CashBalance
from records.positions.models import Position
from records.reference.models import FxRate, Price

TRADE_DATE = "2026-11-20"  # a Friday: a session of XNAS and XETR
DAY = date(2026, 11, 20)
DAY_BEFORE = date(2026, 11, 19)


def rule(code, kind, threshold=None, action="REJECT", *, scope="ALL", scope_value="", params=None, **fields):
    return ComplianceRule.objects.create(
        code=code, name=code, kind=kind, threshold=Decimal(threshold) if threshold is not None else None,
        params=params or {}, action=action, scope=scope, scope_value=scope_value, **fields)


def cash(account, currency, balance, reserved="0"):
    CashBalance.objects.update_or_create(account=account, currency=currency,
                                         defaults={"balance": Decimal(balance), "reserved": Decimal(reserved)})


def position(account, instrument, quantity):
    Position.objects.update_or_create(account=account, instrument=instrument, defaults={
        "traded_quantity": Decimal(quantity), "settled_quantity": Decimal(quantity)})


def price(instrument, value, day=DAY_BEFORE, currency=None):
    Price.objects.create(instrument=instrument, price_date=day, price=Decimal(value),
                         currency=currency or instrument.currency)


def fx(base, quote, rate, day=DAY_BEFORE):
    FxRate.objects.create(base_currency=base, quote_currency=quote, rate_date=day, rate=Decimal(rate))


def body(**overrides):
    trade = {"external_ref": "OMS-1", "account": "ACC-001", "counterparty": "BRKR-A", "instrument": "US0378331005",
             "side": "BUY", "quantity": "100", "price": "100", "trade_date": TRADE_DATE}
    return {**trade, **overrides}


def post(client, url, data):
    return client.post(url, data=json.dumps(data), content_type="application/json")


def submit(client, **overrides):
    return post(client, "/api/v1/trades/", body(**overrides))


def bulk(client, trades):
    return post(client, "/api/v1/trades/bulk/", {"trades": trades})
