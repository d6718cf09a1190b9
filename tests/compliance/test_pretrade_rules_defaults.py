"""The issue's three examples, as a new user would try them, with every default rule in force (migration 0003):
buying power, a short sale without a locate, and a price far from the last price."""

from datetime import date
from decimal import Decimal

import pytest

from compliance.shorts.models import Locate
from records.positions.models import Position
from records.reference.services import reference
from records.trades.models import Trade
from tests.compliance.pretrade_helpers import cash, price, submit
from tests.conftest import APPLE, SAP

pytestmark = [pytest.mark.django_db, pytest.mark.default_rules]


@pytest.fixture
def euro_client(accounts):
    account = reference.account_create(actor="test", code="EUR-CLIENT", name="Euro client", kind="CLIENT",
                                       base_currency="EUR")
    cash(account, "EUR", "6000000")
    return account


def test_a_22_4m_eur_buy_with_6m_of_cash_and_no_credit_limit_is_refused(fo_client, instruments, counterparties,
                                                                         euro_client):
    price(instruments["SAP"], "224")
    response = submit(fo_client, account="EUR-CLIENT", instrument=SAP, quantity="100000", price="224")
    assert response.status_code == 400
    assert response.json() == {"compliance": [
        "[buying-power] Buy of 22,400,000.00 EUR exceeds buying power of 6,000,000.00 EUR (cash 6,000,000.00 "
        "available, credit limit 0.00)."]}
    assert not Trade.objects.exists()
    # What the cash covers is booked.
    assert submit(fo_client, account="EUR-CLIENT", instrument=SAP, quantity="26785", price="224").status_code == 201


def test_a_sale_of_5000_aapl_with_none_held_is_held_and_booked_once_a_locate_is_recorded(
        fo_client, instruments, accounts, counterparties):
    price(instruments["AAPL"], "231.95")
    response = submit(fo_client, side="SELL", quantity="5000", price="231.95")
    assert response.status_code == 201
    assert (response.json()["status"], response.json()["hold_reasons"]) == ("HELD", [
        f"[short-sale-locate] Sale of 5,000 {APPLE} is short: the position covers 0, the short position after it "
        f"(5,000) needs a locate or borrow (0 recorded for 2026-11-20)."])
    assert not Position.objects.filter(traded_quantity__lt=0).exists()
    Locate.objects.create(account=accounts["ACC-001"], instrument=instruments["AAPL"], kind="LOCATE",
                          quantity=Decimal(5000), source="Prime broker", reference="LOC-1",
                          valid_from=date(2026, 11, 20))
    response = submit(fo_client, external_ref="OMS-2", side="SELL", quantity="5000", price="231.95")
    assert (response.status_code, response.json()["status"]) == (201, "BOOKED")
    assert Position.objects.get(instrument=instruments["AAPL"]).traded_quantity == Decimal(-5000)


def test_a_buy_of_aapl_at_500_against_a_last_price_of_231_95_is_refused(fo_client, instruments, accounts,
                                                                       counterparties):
    cash(accounts["ACC-001"], "USD", "1000000")
    price(instruments["AAPL"], "231.95")
    response = submit(fo_client, quantity="100", price="500")
    assert response.status_code == 400
    assert response.json() == {"compliance": [
        "[price-deviation-reject] Price 500 USD is 115.56% away from the last price 231.95 USD of 2026-11-19: "
        "more than 50%."]}
    # Within 10% of the last price it is booked; between 10% and 50% away it is held for a person to look at.
    assert submit(fo_client, external_ref="near", quantity="100", price="255.14").json()["status"] == "BOOKED"
    held = submit(fo_client, external_ref="away", quantity="100", price="255.15").json()
    assert (held["status"], held["hold_reasons"]) == ("HELD", [
        "[price-deviation-hold] Price 255.15 USD is 10.00% away from the last price 231.95 USD of 2026-11-19: "
        "more than 10%."])
