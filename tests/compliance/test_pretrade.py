"""The pre-trade checks of compliance.pretrade, as trade capture runs them (settings.PRETRADE_CHECKS).

A rejection answers 400 with every reason under "compliance" and books nothing; a hold books the
trade as HELD, outside the position. The limits are the default compliance rules (migration 0003):
each reason names its rule. The rules kind by kind: test_pretrade_rules_*.py.
"""

import json
from datetime import date
from decimal import Decimal

import pytest

from compliance.pretrade import CurrencyCheck, RestrictedListCheck, RulesCheck
from compliance.rules.models import ComplianceRule
from records.audit.models import AuditRecord
from records.positions.models import Position
from records.trades.models import Trade
from records.trades.pretrade import HOLD, REJECT, TradeCandidate, get_pretrade_checks
from tests.conftest import APPLE, SAP

pytestmark = pytest.mark.django_db


def body(**overrides):
    trade = {"external_ref": "OMS-1", "account": "ACC-001", "counterparty": "BRKR-A", "instrument": APPLE,
             "side": "BUY", "quantity": "100", "price": "189.25", "trade_date": "2026-11-20"}
    return {**trade, **overrides}


def post(client, url, data):
    return client.post(url, data=json.dumps(data), content_type="application/json")


def nothing_booked():
    return (Trade.objects.count(), Position.objects.count(),
            AuditRecord.objects.filter(record_type="records.trade").count()) == (0, 0, 0)


def test_the_default_checks_are_compliances_in_order():
    assert [type(check) for check in get_pretrade_checks()] == [RestrictedListCheck, CurrencyCheck, RulesCheck]
    assert [check.action for check in get_pretrade_checks()][:2] == [REJECT, REJECT]


@pytest.mark.parametrize(("status", "word"), [("SUSPENDED", "suspended"), ("CLOSED", "closed")])
def test_a_trade_on_an_inactive_account_is_rejected_under_compliance(fo_client, instruments, accounts,
                                                                       counterparties, status, word):
    accounts["ACC-001"].status = status
    accounts["ACC-001"].save()
    response = post(fo_client, "/api/v1/trades/", body())
    assert response.status_code == 400
    assert response.json() == {"compliance": [f"[account-status] Account ACC-001 is {word}."]}
    assert nothing_booked()


def test_an_unknown_account_is_still_a_field_error(fo_client, instruments, accounts, counterparties):
    response = post(fo_client, "/api/v1/trades/", body(account="NOPE"))
    assert response.status_code == 400 and response.json() == {"account": ["Unknown account 'NOPE'."]}


def test_a_currency_other_than_the_instruments_is_rejected_under_compliance(fo_client, instruments, accounts,
                                                                            counterparties):
    response = post(fo_client, "/api/v1/trades/", body(currency="EUR"))
    assert response.status_code == 400
    assert response.json() == {"compliance": [f"Instrument {APPLE} trades in USD, not EUR."]}
    assert nothing_booked()


def test_every_failed_check_is_reported_together(fo_client, instruments, accounts, counterparties):
    accounts["ACC-001"].status = "CLOSED"
    accounts["ACC-001"].save()
    response = post(fo_client, "/api/v1/trades/", body(currency="EUR", quantity="60000000", price="10"))
    assert response.status_code == 400
    assert response.json() == {"compliance": [
        f"Instrument {APPLE} trades in USD, not EUR.",
        "[account-status] Account ACC-001 is closed.",
        "[notional-reject] Notional 600,000,000.00 EUR exceeds the limit of 250,000,000.00 EUR per trade.",
        "[quantity-reject] Quantity 60,000,000 exceeds the limit of 50,000,000 per trade.",
    ]}
    assert nothing_booked()


def test_a_notional_between_the_hold_and_reject_limits_books_the_trade_held(fo_client, instruments, accounts,
                                                                            counterparties):
    response = post(fo_client, "/api/v1/trades/", body(quantity="300000", price="200"))
    assert response.status_code == 201
    assert response.json()["status"] == "HELD"
    assert response.json()["hold_reasons"] == [
        "[notional-hold] Notional 60,000,000.00 USD exceeds the limit of 50,000,000.00 USD per trade."]
    assert not Position.objects.filter(traded_quantity__gt=0).exists()


def test_bulk_books_the_clean_trades_and_rejects_the_others_under_compliance(fo_client, instruments, accounts,
                                                                             counterparties):
    accounts["HOUSE"].status = "SUSPENDED"
    accounts["HOUSE"].save()
    trades = [body(external_ref="B-1"), body(external_ref="B-2", account="HOUSE"),
              body(external_ref="B-3", instrument=SAP, currency="USD", price="120"),
              body(external_ref="B-4", quantity="7")]
    response = post(fo_client, "/api/v1/trades/bulk/", {"trades": trades})
    assert response.status_code == 200
    out = response.json()
    assert (out["created"], out["rejected"], out["duplicates"]) == (2, 2, 0)
    assert [r["status"] for r in out["results"]] == ["created", "rejected", "rejected", "created"]
    assert out["results"][1]["errors"] == {"compliance": ["[account-status] Account HOUSE is suspended."]}
    assert out["results"][2]["errors"] == {"compliance": [f"Instrument {SAP} trades in EUR, not USD."]}
    assert sorted(Trade.objects.values_list("external_ref", flat=True)) == ["B-1", "B-4"]
    assert Position.objects.get(account__code="ACC-001", instrument__isin=APPLE).traded_quantity == Decimal("107")


def test_an_amendment_past_the_limit_is_refused_under_compliance_and_changes_nothing(fo_client, instruments,
                                                                                     accounts, counterparties):
    trade_id = post(fo_client, "/api/v1/trades/", body()).json()["id"]
    response = post(fo_client, f"/api/v1/trades/{trade_id}/amend/", {"quantity": "60000000", "reason": "typo"})
    assert response.status_code == 400
    assert response.json() == {"compliance": [
        "[notional-reject] Notional 11,355,000,000.00 USD exceeds the limit of 250,000,000.00 USD per trade.",
        "[quantity-reject] Quantity 60,000,000 exceeds the limit of 50,000,000 per trade."]}
    trade = Trade.objects.get(pk=trade_id)
    assert (trade.quantity, trade.version, trade.status) == (Decimal("100"), 1, "BOOKED")


def test_a_rule_can_hold_instead_of_reject(fo_client, instruments, accounts, counterparties):
    ComplianceRule.objects.filter(code="account-status").update(action="HOLD")
    accounts["ACC-001"].status = "SUSPENDED"
    accounts["ACC-001"].save()
    response = post(fo_client, "/api/v1/trades/", body())
    assert response.status_code == 201
    assert (response.json()["status"], response.json()["hold_reasons"]) == (
        "HELD", ["[account-status] Account ACC-001 is suspended."])


def test_checks_see_the_batch_and_answer_by_index(instruments, accounts, counterparties):
    def candidate(index, **overrides):
        values = {"index": index, "account": accounts["ACC-001"], "counterparty": counterparties["BRKR-A"],
                  "instrument": instruments["AAPL"], "side": "BUY", "quantity": Decimal("10"),
                  "price": Decimal("100"), "currency": "USD", "trade_date": date(2026, 11, 20),
                  "settlement_date": None,
                  "commission": Decimal(0)}
        return TradeCandidate(**{**values, **overrides})

    batch = [candidate(0), candidate(1, quantity=Decimal("11")), candidate(2, currency="GBP")]
    ComplianceRule.objects.filter(code="quantity-reject").update(threshold=Decimal("10"))
    ComplianceRule.objects.filter(code="notional-hold").update(threshold=Decimal("1000"))
    outcomes = RulesCheck().check_batch(batch)
    assert [(o.index, o.action, o.check) for o in outcomes] == [(1, HOLD, "notional-hold"),
                                                                 (1, REJECT, "quantity-reject")]
    assert [o.index for o in CurrencyCheck().check_batch(batch)] == [2]
