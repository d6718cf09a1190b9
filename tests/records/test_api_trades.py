"""Trade capture through the API: the contract of API.md "Trades", and every bad input a 400."""

from decimal import Decimal

import pytest
from django.test import override_settings

from records.audit.models import AuditRecord
from records.positions.models import Position
from records.trades.models import Trade, TradeEvent, TradeVersion
from tests.conftest import APPLE, SAP, client_for, make_user
from tests.records.helpers_trades import body, post, submit

pytestmark = pytest.mark.django_db


def position(account="ACC-001", isin=APPLE):
    return Position.objects.filter(account__code=account, instrument__isin=isin).first()


# Submit ------------------------------------------------------------------------------------------

def test_submit_books_the_trade_computes_settlement_date_and_moves_the_position(fo_client, refdata):
    response = submit(fo_client)
    assert response.status_code == 201, response.content
    trade = response.json()
    assert {k: trade[k] for k in ("external_ref", "account", "counterparty", "instrument", "side", "quantity",
                                  "price", "currency", "trade_date", "settlement_date", "commission", "status",
                                  "version", "match_status", "settled_quantity", "gross_amount", "is_as_of")} == {
        "external_ref": "OMS-000123", "account": "ACC-001", "counterparty": "BRKR-A", "instrument": APPLE,
        "side": "BUY", "quantity": "100", "price": "189.25", "currency": "USD", "trade_date": "2026-11-20",
        "settlement_date": "2026-11-23", "commission": "5.00", "status": "BOOKED", "version": 1,
        "match_status": "UNMATCHED", "settled_quantity": "0", "gross_amount": "18925.00", "is_as_of": True}
    assert trade["id"] and trade["created_at"]
    pos = position()
    assert (pos.traded_quantity, pos.settled_quantity, pos.pending_receipt, pos.pending_delivery) == (
        100, 0, 100, 0)
    assert TradeEvent.objects.get().action == "BOOK"
    assert AuditRecord.objects.filter(record_type="records.trade", action="CREATE").count() == 1


def test_the_answer_to_a_submission_is_the_trade_as_stored(fo_client, refdata):
    """The fast rendering of a booked trade (built in memory, shared serializer) is the serializer's
    output for the trade read back: booked, held, and after an amendment."""
    from records.trades import selectors
    from records.trades.api.serializers import TradeOutput, trade_representation

    booked = submit(fo_client).json()
    held = submit(fo_client, external_ref="OMS-HELD", quantity="300000", price="200").json()
    assert held["status"] == "HELD"
    for answer in (booked, held):
        stored = selectors.trade_get(answer["id"])
        assert answer == TradeOutput(stored).data == trade_representation(stored)
    amended = post(fo_client, f"/api/v1/trades/{booked['id']}/amend/", {"quantity": "150", "reason": "fill"})
    assert amended.status_code == 200, amended.content
    stored = selectors.trade_get(booked["id"])
    assert trade_representation(stored) == TradeOutput(stored).data
    assert trade_representation(stored)["quantity"] == "150" and trade_representation(stored)["version"] == 2


def test_currency_and_commission_default(fo_client, refdata):
    response = post(fo_client, "/api/v1/trades/", {k: v for k, v in body().items()
                                                     if k not in ("currency", "commission", "settlement_date")})
    assert response.status_code == 201, response.content
    assert (response.json()["currency"], response.json()["commission"]) == ("USD", "0.00")


@pytest.mark.parametrize(("trade_date", "message"), [
    ("2026-11-21", "2026-11-21 is not a trading session of XNAS."),  # a Saturday
    ("2026-11-26", "2026-11-26 is not a trading session of XNAS."),  # Thanksgiving
])
def test_a_trade_dated_when_its_exchange_is_closed_is_400_on_trade_date(fo_client, refdata, trade_date, message):
    response = submit(fo_client, trade_date=trade_date)
    assert (response.status_code, response.json()) == (400, {"trade_date": [message]})
    bulk = post(fo_client, "/api/v1/trades/bulk/", {"trades": [body(trade_date=trade_date), body(external_ref="OK")]})
    assert bulk.json()["results"] == [{"index": 0, "status": "rejected", "errors": {"trade_date": [message]}},
                                      {"index": 1, "status": "created", "id": Trade.objects.get().pk}]


def test_amounts_keep_the_currencys_minor_units_and_the_gross_amount_is_exact(fo_client, refdata):
    trade = submit(fo_client, quantity="3", price="189.2512", commission="1.5").json()
    assert (trade["gross_amount"], trade["commission"], trade["price"]) == ("567.7536", "1.50", "189.2512")
    amended = post(fo_client, f"/api/v1/trades/{trade['id']}/amend/", {"commission": "2", "reason": "fee"}).json()
    assert (amended["commission"], amended["versions"][0]["commission"]) == ("2.00", "1.50")
    sap = submit(fo_client, external_ref="EUR-1", instrument=SAP, currency="EUR", quantity="10", price="187.3",
                 commission=None).json()
    assert (sap["gross_amount"], sap["commission"]) == ("1873.00", "0.00")


def test_same_body_again_is_200_with_the_same_trade_and_books_nothing(fo_client, refdata):
    first = submit(fo_client)
    again = submit(fo_client)
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert Trade.objects.count() == 1
    assert position().traded_quantity == 100


def test_same_ref_different_body_is_409_and_books_nothing(fo_client, refdata):
    submit(fo_client)
    response = submit(fo_client, quantity="101")
    assert response.status_code == 409
    assert response.json() == {"detail": "external_ref 'OMS-000123' was already used for a different trade."}
    assert Trade.objects.count() == 1 and position().traded_quantity == 100


def test_idempotency_is_per_submitting_user(fo_client, refdata):
    other = client_for(make_user("fo2", "front_office"))
    assert submit(fo_client).status_code == 201
    assert submit(other).status_code == 201
    assert Trade.objects.count() == 2


def test_explicit_settlement_date_must_be_a_settlement_day_not_before_trade_date(fo_client, refdata):
    before = submit(fo_client, settlement_date="2026-11-19")
    assert (before.status_code, before.json()) == (400, {"settlement_date": ["Settlement date is before the trade "
                                                                             "date."]})
    response = submit(fo_client, settlement_date="2026-11-26")  # Thanksgiving
    assert response.status_code == 400 and list(response.json()) == ["settlement_date"]
    ok = submit(fo_client, settlement_date="2026-11-24")  # non-standard T+2
    assert ok.status_code == 201 and ok.json()["settlement_date"] == "2026-11-24"


BAD = [
    ({"quantity": "0"}, "quantity"),
    ({"quantity": "-5"}, "quantity"),
    ({"quantity": 0.1 + 0.2}, "quantity"),
    ({"quantity": "1.0000001"}, "quantity"),
    ({"quantity": "ten"}, "quantity"),
    ({"quantity": True}, "quantity"),
    ({"price": "0"}, "price"),
    ({"price": "1.000000001"}, "price"),
    ({"price": None}, "price"),
    ({"commission": "-1"}, "commission"),
    ({"side": "SHORT"}, "side"),
    ({"side": 1}, "side"),
    ({"account": "NOPE"}, "account"),
    ({"counterparty": "NOPE"}, "counterparty"),
    ({"instrument": "US0378331006"}, "instrument"),
    ({"instrument": "US88160R1014"}, "instrument"),  # valid ISIN, unknown to us
    ({"currency": "EUR"}, "compliance"),  # not the instrument's: compliance.pretrade.CurrencyCheck
    ({"currency": "EURO"}, "currency"),
    ({"currency": "XYZ"}, "currency"),
    ({"currency": "usd"}, "currency"),
    ({"trade_date": "20261120"}, "trade_date"),
    ({"settlement_date": "2026-11-2"}, "settlement_date"),
    ({"trade_date": "2999-01-01"}, "trade_date"),
    ({"trade_date": "20/11/2026"}, "trade_date"),
    ({"trade_date": "2026-02-30"}, "trade_date"),
    ({"trade_date": None}, "trade_date"),
    ({"settlement_date": "tomorrow"}, "settlement_date"),
    ({"external_ref": ""}, "external_ref"),
    ({"external_ref": "x" * 65}, "external_ref"),
    ({"external_ref": "bad\u0000ref"}, "external_ref"),
    ({"external_ref": 123}, "external_ref"),
    ({"external_ref": "OMS\t1"}, "external_ref"),
    ({"account": "'; DROP TABLE records_trade; --"}, "account"),
]


@pytest.mark.parametrize(("overrides", "field"), BAD)
def test_bad_input_is_a_field_level_400_and_books_nothing(fo_client, refdata, overrides, field):
    response = submit(fo_client, **overrides)
    assert response.status_code == 400, response.content
    assert list(response.json()) == [field], response.json()
    assert Trade.objects.count() == 0 and Position.objects.count() == 0


def test_text_is_stripped_the_currency_included(fo_client, refdata):
    response = submit(fo_client, external_ref="  OMS-7 ", currency=" USD ")
    assert response.status_code == 201, response.content
    assert (response.json()["external_ref"], response.json()["currency"]) == ("OMS-7", "USD")


def test_unicode_external_ref_is_fine(fo_client, refdata):
    response = submit(fo_client, external_ref="ORD-Ü-日本-1")
    assert response.status_code == 201 and response.json()["external_ref"] == "ORD-Ü-日本-1"


def test_missing_fields_are_reported_together(fo_client, refdata):
    response = post(fo_client, "/api/v1/trades/", {"external_ref": "X"})
    assert response.status_code == 400
    assert response.json() == {name: ["This field is required."] for name in (
        "account", "counterparty", "instrument", "side", "quantity", "price", "trade_date")}


@pytest.mark.parametrize("raw", ['{"external_ref": ', "[]", '"text"', "null", '{"quantity": NaN}'])
def test_malformed_json_is_400(fo_client, refdata, raw):
    response = fo_client.post("/api/v1/trades/", data=raw, content_type="application/json")
    assert response.status_code == 400


def test_roles(compliance_client, accounting_client, refdata):
    assert submit(compliance_client).status_code == 403
    assert compliance_client.get("/api/v1/trades/").status_code == 200
    assert accounting_client.get("/api/v1/inventory/").status_code == 200


# Pre-trade checks --------------------------------------------------------------------------------

def test_a_check_that_rejects_answers_400_under_compliance(fo_client, refdata):
    response = submit(fo_client, quantity="2000000", price="200")  # 400m notional > 250m reject limit
    assert response.status_code == 400
    assert "compliance" in response.json() and "exceeds" in response.json()["compliance"][0]
    assert Trade.objects.count() == 0


def test_a_check_that_holds_books_a_held_trade_outside_the_position(fo_client, ops_client, refdata):
    response = submit(fo_client, quantity="300000", price="200")  # 60m > 50m hold limit
    assert response.status_code == 201
    assert response.json()["status"] == "HELD"
    assert response.json()["hold_reasons"] == [
        "[notional-hold] Notional 60,000,000.00 USD exceeds the limit of 50,000,000.00 USD per trade."]
    assert position() is None  # a held trade moves no position
    trade_id = response.json()["id"]
    proposed = post(ops_client, f"/api/v1/trades/{trade_id}/release/", {"reason": "approved by desk"})
    assert proposed.status_code == 202, proposed.content
    assert (proposed.json()["kind"], proposed.json()["status"]) == ("trade.release", "PENDING")
    # Four eyes: nothing moves until a second user approves; the proposer cannot.
    assert Trade.objects.get(pk=trade_id).status == "HELD"
    assert position() is None
    approve_url = f"/api/v1/approvals/{proposed.json()['id']}/approve/"
    assert post(ops_client, approve_url, {}).status_code == 403
    assert post(ops_client, f"/api/v1/trades/{trade_id}/release/", {"reason": "twice"}).status_code == 409

    approved = post(client_for(make_user("checker", "compliance")), approve_url, {})

    assert approved.status_code == 200 and approved.json()["status"] == "APPROVED"
    assert Trade.objects.get(pk=trade_id).status == "BOOKED"
    assert position().traded_quantity == 300000
    assert post(ops_client, f"/api/v1/trades/{trade_id}/release/", {"reason": "again"}).status_code == 409


@override_settings(PRETRADE_CHECKS=[])
def test_checks_come_from_the_setting(fo_client, refdata):
    assert submit(fo_client, quantity="2000000", price="200").status_code == 201


# Amend and cancel --------------------------------------------------------------------------------

def test_amend_creates_a_new_version_keeps_the_old_and_moves_the_position(fo_client, refdata):
    trade_id = submit(fo_client).json()["id"]
    response = post(fo_client, f"/api/v1/trades/{trade_id}/amend/", {"quantity": "150", "price": "190",
                                                                       "reason": "late fill"})
    assert response.status_code == 200, response.content
    body_ = response.json()
    assert (body_["version"], body_["quantity"], body_["price"]) == (2, "150", "190")
    assert body_["versions"][0]["version"] == 1 and body_["versions"][0]["quantity"] == "100"
    assert [h["action"] for h in body_["history"]] == ["BOOK", "AMEND"]
    assert body_["history"][1]["reason"] == "late fill" and body_["history"][1]["actor"] == "fo"
    assert position().traded_quantity == 150 and position().pending_receipt == 150
    assert TradeVersion.objects.count() == 1


@pytest.mark.parametrize(("changes", "field"), [
    ({"quantity": "0", "reason": "x"}, "quantity"),
    ({"settlement_date": "2026-11-26", "reason": "x"}, "settlement_date"),
    ({"settlement_date": "2026-11-19", "reason": "x"}, "settlement_date"),
    ({"quantity": "150"}, "reason"),
    ({"reason": "nothing"}, "non_field_errors"),
    ({"quantity": "100", "reason": "same"}, "non_field_errors"),
])
def test_bad_amendments_are_400_and_change_nothing(fo_client, refdata, changes, field):
    trade_id = submit(fo_client).json()["id"]
    response = post(fo_client, f"/api/v1/trades/{trade_id}/amend/", changes)
    assert response.status_code == 400, response.content
    assert list(response.json()) == [field], response.json()
    trade = Trade.objects.get()
    assert (trade.version, trade.quantity) == (1, 100) and position().traded_quantity == 100


def test_cancel_reverses_the_position_and_is_refused_once_cleared(fo_client, refdata):
    first = submit(fo_client).json()["id"]
    second = submit(fo_client, external_ref="OMS-2", side="SELL", quantity="30").json()["id"]
    assert position().traded_quantity == 70
    response = post(fo_client, f"/api/v1/trades/{first}/cancel/", {"reason": "booked twice"})
    assert response.status_code == 200 and response.json()["status"] == "CANCELLED"
    assert position().traded_quantity == -30 and position().pending_receipt == 0
    assert post(fo_client, f"/api/v1/trades/{first}/cancel/", {"reason": "again"}).status_code == 200
    assert post(fo_client, f"/api/v1/trades/{first}/amend/", {"price": "1", "reason": "x"}).status_code == 409
    Trade.objects.filter(pk=second).update(status="CLEARED")
    assert post(fo_client, f"/api/v1/trades/{second}/cancel/", {"reason": "x"}).status_code == 409
    assert post(fo_client, f"/api/v1/trades/{second}/amend/", {"price": "1", "reason": "x"}).status_code == 409
    assert position().traded_quantity == -30
    # Without a reason: refused before the trade is looked at, cancelled or not.
    no_reason = post(fo_client, f"/api/v1/trades/{first}/cancel/", {})
    assert (no_reason.status_code, no_reason.json()) == (400, {"reason": ["This field is required."]})


def test_cancel_needs_a_reason(fo_client, refdata):
    trade_id = submit(fo_client).json()["id"]
    assert post(fo_client, f"/api/v1/trades/{trade_id}/cancel/", {}).status_code == 400
    assert post(fo_client, f"/api/v1/trades/{trade_id}/cancel/", {"reason": ""}).status_code == 400
    assert Trade.objects.get().status == "BOOKED"


def test_unknown_trade_is_404(fo_client, refdata):
    assert fo_client.get("/api/v1/trades/999/").status_code == 404
    assert post(fo_client, "/api/v1/trades/999/cancel/", {"reason": "x"}).status_code == 404


# Lists -------------------------------------------------------------------------------------------

def test_trade_list_filters(fo_client, refdata):
    submit(fo_client)
    submit(fo_client, external_ref="OMS-2", instrument=SAP, currency="EUR", side="SELL", trade_date="2026-11-18")
    assert fo_client.get("/api/v1/trades/?instrument=" + SAP).json()["count"] == 1
    assert fo_client.get("/api/v1/trades/?side=SELL").json()["results"][0]["external_ref"] == "OMS-2"
    assert fo_client.get("/api/v1/trades/?trade_date_from=2026-11-19").json()["count"] == 1
    assert fo_client.get("/api/v1/trades/?external_ref=OMS-000123").json()["count"] == 1
    assert fo_client.get("/api/v1/trades/?status=BOOKED&account=ACC-001").json()["count"] == 2
    assert fo_client.get("/api/v1/trades/?status=WHATEVER").status_code == 400
    assert fo_client.get("/api/v1/trades/?trade_date=notadate").status_code == 400


# Bulk --------------------------------------------------------------------------------------------

def test_bulk_books_valid_items_and_reports_each(fo_client, refdata):
    submit(fo_client, external_ref="OLD-1")
    trades = [body(external_ref="B-1"), body(external_ref="OLD-1"), body(external_ref="B-2", quantity="0"),
              body(external_ref="B-3", side="SELL", quantity="40")]
    response = post(fo_client, "/api/v1/trades/bulk/", {"trades": trades})
    assert response.status_code == 200, response.content
    out = response.json()
    assert (out["created"], out["duplicates"], out["rejected"]) == (2, 1, 1)
    assert [r["status"] for r in out["results"]] == ["created", "duplicate", "rejected", "created"]
    assert out["results"][2]["errors"] == {"quantity": ["Must be greater than zero."]}
    assert out["results"][1]["id"] == Trade.objects.get(external_ref="OLD-1").pk
    assert position().traded_quantity == 100 + 100 - 40


def test_bulk_conflicting_ref_and_repeats_inside_the_batch(fo_client, refdata):
    submit(fo_client, external_ref="OLD-1")
    trades = [body(external_ref="OLD-1", quantity="5"), body(external_ref="N-1"), body(external_ref="N-1"),
              body(external_ref="N-1", quantity="7")]
    out = post(fo_client, "/api/v1/trades/bulk/", {"trades": trades}).json()
    assert [r["status"] for r in out["results"]] == ["rejected", "created", "duplicate", "rejected"]
    assert "external_ref" in out["results"][0]["errors"]
    assert out["results"][1]["id"] == out["results"][2]["id"]
    assert Trade.objects.filter(external_ref="N-1").count() == 1


def test_bulk_limits_and_shapes(fo_client, refdata):
    too_many = post(fo_client, "/api/v1/trades/bulk/", {"trades": [{}] * 10_001})
    assert too_many.status_code == 413
    assert post(fo_client, "/api/v1/trades/bulk/", {"trades": []}).status_code == 400
    assert post(fo_client, "/api/v1/trades/bulk/", {"trades": "x"}).status_code == 400
    assert post(fo_client, "/api/v1/trades/bulk/", [body()]).status_code == 400
    out = post(fo_client, "/api/v1/trades/bulk/", {"trades": ["not an object", None]}).json()
    assert out["rejected"] == 2
    assert Trade.objects.count() == 0


def test_bulk_is_set_based(fo_client, refdata, django_assert_max_num_queries):
    trades = [body(external_ref=f"S-{n}", quantity=str(n + 1), side="BUY" if n % 3 else "SELL")
              for n in range(1000)]
    with django_assert_max_num_queries(25):
        out = post(fo_client, "/api/v1/trades/bulk/", {"trades": trades}).json()
    assert out["created"] == 1000
    expected = sum(Decimal(n + 1) * (1 if n % 3 else -1) for n in range(1000))
    assert position().traded_quantity == expected


def test_lone_surrogates_are_refused_before_anything_is_written(fo_client, refdata):
    from records.audit.models import AuditRecord
    from records.trades.models import Trade

    booked = submit(fo_client)
    assert booked.status_code == 201
    trades, audits = Trade.objects.count(), AuditRecord.objects.count()
    # Raw JSON: the escape decodes to a lone surrogate, which UTF-8 (and PostgreSQL) cannot hold.
    raw = '{"external_ref": "X-\\ud800", "account": "ACC-001", "counterparty": "BRKR-A", ' \
          '"instrument": "US0378331005", "side": "BUY", "quantity": "1", "price": "1", "trade_date": "2026-11-20"}'
    response = fo_client.post("/api/v1/trades/", data=raw, content_type="application/json")
    assert response.status_code == 400 and "external_ref" in response.json()
    cancel = fo_client.post(f"/api/v1/trades/{booked.json()['id']}/cancel/", data='{"reason": "\\ud800"}',
                            content_type="application/json")
    assert cancel.status_code == 400 and "reason" in cancel.json()
    assert (Trade.objects.count(), AuditRecord.objects.count()) == (trades, audits)
