"""The inventory API (records.positions): positions as of a date, valued at the latest price on or before it."""

import pytest

from tests.conftest import APPLE
from tests.records.helpers_trades import post, submit

pytestmark = pytest.mark.django_db


def test_inventory_as_of_with_valuation(fo_client, refdata):
    post(fo_client, "/api/v1/prices/", [{"instrument": APPLE, "price_date": "2026-11-18", "price": "180"},
                                        {"instrument": APPLE, "price_date": "2026-11-20", "price": "190.5"}])
    submit(fo_client, external_ref="T1", trade_date="2026-11-18", quantity="100")
    submit(fo_client, external_ref="T2", trade_date="2026-11-20", quantity="50", side="SELL")
    now = fo_client.get("/api/v1/inventory/?account=ACC-001").json()["results"]
    assert len(now) == 1
    assert {k: now[0][k] for k in ("traded_quantity", "settled_quantity", "pending_receipt", "pending_delivery",
                                   "available_quantity", "price", "price_date", "market_value", "currency")} == {
        "traded_quantity": "50", "settled_quantity": "0", "pending_receipt": "100", "pending_delivery": "50",
        "available_quantity": "0", "price": "190.5", "price_date": "2026-11-20", "market_value": "9525",
        "currency": "USD"}
    past = fo_client.get("/api/v1/inventory/?account=ACC-001&as_of=2026-11-19").json()["results"][0]
    assert (past["traded_quantity"], past["pending_delivery"], past["price"], past["market_value"]) == (
        "100", "0", "180", "18000")
    before = fo_client.get("/api/v1/inventory/?account=ACC-001&as_of=2026-11-17").json()
    assert before["count"] == 0
    assert fo_client.get("/api/v1/inventory/?account=NOPE").status_code == 400
    assert fo_client.get("/api/v1/inventory/?as_of=bad").status_code == 400


def test_inventory_without_a_price_has_null_market_value(fo_client, refdata):
    submit(fo_client)
    row = fo_client.get("/api/v1/inventory/").json()["results"][0]
    assert row["price"] is None and row["market_value"] is None
