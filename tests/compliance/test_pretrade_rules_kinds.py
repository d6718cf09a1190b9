"""Every pre-trade kind of rule (compliance.pretrade.RulesCheck): the hit, and the near miss just under its threshold.

Through the real API (POST /api/v1/trades/ and /bulk/): a REJECT answers 400 with the reasons under
"compliance", a HOLD books the trade HELD with hold_reasons, every reason names its rule.
"""

from datetime import date
from decimal import Decimal

import pytest

from compliance.shorts.models import Locate, PenaltyBoxEntry
from records.positions.models import Position
from records.trades.models import Trade
from tests.compliance.pretrade_helpers import DAY_BEFORE, body, bulk, cash, fx, position, price, rule, submit
from tests.conftest import APPLE, MICROSOFT, SAP

pytestmark = pytest.mark.django_db


def refused(response, *reasons):
    assert response.status_code == 400, response.json()
    assert response.json() == {"compliance": list(reasons)}
    return True


def booked(response, status="BOOKED"):
    assert response.status_code == 201, response.json()
    assert response.json()["status"] == status
    return response.json()


# --- ACCOUNT_STATUS ---------------------------------------------------------------------------------------------

def test_kyc_review_expired_before_the_trade_date_rejects(fo_client, instruments, accounts, counterparties):
    accounts["ACC-001"].kyc_review_due = date(2026, 11, 19)
    accounts["ACC-001"].save()
    assert refused(submit(fo_client), "[account-status] Account ACC-001: KYC review expired on 2026-11-19.")
    assert not Trade.objects.exists()


def test_kyc_review_due_on_the_trade_date_still_covers_it(fo_client, instruments, accounts, counterparties):
    accounts["ACC-001"].kyc_review_due = date(2026, 11, 20)
    accounts["ACC-001"].save()
    booked(submit(fo_client))


# --- NOTIONAL and QUANTITY -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("price", "hit"), [("200.01", True), ("200", False)])
def test_notional_above_the_threshold(fo_client, instruments, accounts, counterparties, price, hit):
    rule("small-tickets", "NOTIONAL", "20000", scope="ACCOUNT", scope_value="ACC-001")
    response = submit(fo_client, price=price)
    if hit:
        assert refused(response, "[small-tickets] Notional 20,001.00 USD exceeds the limit of 20,000.00 USD per trade.")
    else:
        booked(response)


@pytest.mark.parametrize(("price", "hit"), [("100.01", True), ("100", False)])
def test_notional_per_currency_overrides_the_threshold(fo_client, instruments, accounts, counterparties, price, hit):
    rule("eur-tickets", "NOTIONAL", "1000000", "HOLD", scope="ACCOUNT", scope_value="ACC-001",
         params={"per_currency": {"EUR": "10000"}})
    response = submit(fo_client, instrument=SAP, price=price)
    if hit:
        assert booked(response, "HELD")["hold_reasons"] == [
            "[eur-tickets] Notional 10,001.00 EUR exceeds the limit of 10,000.00 EUR per trade."]
    else:
        booked(response)
    assert booked(submit(fo_client, external_ref="USD", price="150"))["status"] == "BOOKED"  # 15,000 USD < 1M


@pytest.mark.parametrize(("quantity", "hit"), [("501", True), ("500", False)])
def test_quantity_above_the_threshold(fo_client, instruments, accounts, counterparties, quantity, hit):
    rule("lots", "QUANTITY", "500", scope="INSTRUMENT", scope_value=APPLE)
    response = submit(fo_client, quantity=quantity, price="1")
    if hit:
        assert refused(response, "[lots] Quantity 501 exceeds the limit of 500 per trade.")
    else:
        booked(response)


# --- PRICE_DEVIATION -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("trade_price", "hit"), [("110.01", True), ("89.99", True), ("110", False), ("90", False)])
def test_price_away_from_the_last_price(fo_client, instruments, accounts, counterparties, trade_price, hit):
    rule("fat-finger-price", "PRICE_DEVIATION", "10", "HOLD")
    price(instruments["AAPL"], "100")
    price(instruments["AAPL"], "150", day=date(2026, 11, 23))  # after the trade date: not its last price
    response = submit(fo_client, price=trade_price)
    if hit:
        away = abs(Decimal(trade_price) - 100)
        assert booked(response, "HELD")["hold_reasons"] == [
            f"[fat-finger-price] Price {trade_price} USD is {away:.2f}% away from the last price 100 USD of "
            f"2026-11-19: more than 10%."]
    else:
        booked(response)


def test_price_deviation_passes_without_a_last_price(fo_client, instruments, accounts, counterparties):
    rule("fat-finger-price", "PRICE_DEVIATION", "10")
    price(instruments["AAPL"], "100", day=date(2026, 11, 23))  # only after the trade date
    booked(submit(fo_client, price="500"))


def test_the_last_price_is_the_latest_date_updated_last(fo_client, instruments, accounts, counterparties):
    """Several sources on the latest date before the trade: the one updated last counts (the price the pages show,
    records' latest price); an earlier date's does not."""
    from records.reference.models import Price
    from records.reference.selectors import with_latest_price

    rule("fat-finger-price", "PRICE_DEVIATION", "10")
    apple = instruments["AAPL"]
    Price.objects.create(instrument=apple, price_date=date(2026, 11, 18), price=Decimal("300"), currency="USD",
                         source="A-vendor")
    Price.objects.create(instrument=apple, price_date=DAY_BEFORE, price=Decimal("200"), currency="USD",
                         source="A-vendor")
    Price.objects.create(instrument=apple, price_date=DAY_BEFORE, price=Decimal("100"), currency="USD",
                         source="Z-vendor")
    shown = with_latest_price(type(apple).objects.filter(pk=apple.pk), as_of=DAY_BEFORE, instrument_ref="pk")
    assert shown.get().latest_price == Decimal("100")
    booked(submit(fo_client, external_ref="NEAR-B", price="109"))
    response = submit(fo_client, external_ref="FAR-B", price="180")
    assert response.status_code == 400
    assert "last price 100 USD of 2026-11-19" in response.json()["compliance"][0]


# --- BUYING_POWER ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("trade_price", "hit"), [("100", True), ("99.99", False)])
def test_buying_power_is_cash_less_reserved_plus_credit(fo_client, instruments, accounts, counterparties,
                                                        trade_price, hit):
    rule("bp", "BUYING_POWER", "0")
    cash(accounts["ACC-001"], "USD", "10000", reserved="1000")  # ACC-001: credit limit 1,000 USD
    response = submit(fo_client, price=trade_price, commission="1")
    if hit:
        assert refused(response, "[bp] Buy of 10,001.00 USD exceeds buying power of 10,000.00 USD "
                                 "(cash 9,000.00 available, credit limit 1,000.00).")
    else:
        booked(response)  # 9,999 + 1 of commission: exactly the buying power


def test_buying_power_counts_booked_buys_not_yet_instructed_and_ignores_sells(fo_client, instruments, accounts,
                                                                             counterparties):
    rule("bp", "BUYING_POWER", "0")
    cash(accounts["ACC-001"], "USD", "10000")
    booked(submit(fo_client, external_ref="B1", price="50"))  # 5,000: leaves 5,000 + 1,000 of credit
    booked(submit(fo_client, external_ref="S1", side="SELL", instrument=MICROSOFT, price="1000"))
    assert refused(submit(fo_client, external_ref="B2", price="60.01"),
                   "[bp] Buy of 6,001.00 USD exceeds buying power of 6,000.00 USD (cash 5,000.00 available after "
                   "5,000.00 of buys not yet instructed, credit limit 1,000.00).")
    booked(submit(fo_client, external_ref="B3", price="60"))
    # Once instructed (cleared: the instruction's reservation stands for it) a trade no longer counts.
    Trade.objects.filter(external_ref__in=["B1", "B3"]).update(status="CLEARED")
    booked(submit(fo_client, external_ref="B4", price="110"))


@pytest.mark.parametrize(("trade_price", "hit"), [("95.01", True), ("95", False)])
def test_the_threshold_is_buying_power_that_must_remain(fo_client, instruments, accounts, counterparties,
                                                        trade_price, hit):
    rule("bp", "BUYING_POWER", "500")
    cash(accounts["HOUSE"], "USD", "10000")  # HOUSE: no credit limit
    response = submit(fo_client, account="HOUSE", price=trade_price)
    if hit:
        assert refused(response, "[bp] Buy of 9,501.00 USD exceeds buying power of 10,000.00 USD, 500.00 of which "
                                 "must remain (cash 10,000.00 available, credit limit 0.00).")
    else:
        booked(response)


@pytest.mark.parametrize(("trade_price", "hit"), [("8.01", True), ("8", False)])
def test_the_credit_limit_is_converted_from_the_base_currency(fo_client, instruments, accounts, counterparties,
                                                              trade_price, hit):
    rule("bp", "BUYING_POWER", "0")
    fx("EUR", "USD", "1.25")  # stored the other way round: 1,000 USD = 800 EUR
    fx("EUR", "USD", "2", day=date(2026, 11, 23))  # after the trade date
    response = submit(fo_client, instrument=SAP, price=trade_price)
    if hit:
        assert refused(response, "[bp] Buy of 801.00 EUR exceeds buying power of 800.00 EUR (cash 0.00 available, "
                                 "credit limit 800.00 = 1,000.00 USD).")
    else:
        booked(response)


def test_without_a_rate_the_credit_limit_does_not_count_and_the_reason_says_so(fo_client, instruments, accounts,
                                                                              counterparties):
    rule("bp", "BUYING_POWER", "0")
    cash(accounts["ACC-001"], "EUR", "100")
    assert refused(submit(fo_client, instrument=SAP, price="1.01"),
                   "[bp] Buy of 101.00 EUR exceeds buying power of 100.00 EUR (cash 100.00 available, credit limit "
                   "1,000.00 USD not counted: no USD/EUR rate on or before 2026-11-20).")
    booked(submit(fo_client, instrument=SAP, price="1"))


def test_sells_need_no_buying_power(fo_client, instruments, accounts, counterparties):
    rule("bp", "BUYING_POWER", "0")
    booked(submit(fo_client, side="SELL", price="1000"))


# --- SHORT_SALE ------------------------------------------------------------------------------------------------

@pytest.fixture
def shorts(instruments, accounts, counterparties):
    rule("locate", "SHORT_SALE", None, "HOLD")
    position(accounts["ACC-001"], instruments["AAPL"], "100")
    return instruments["AAPL"]


def test_a_sale_the_position_covers_is_long(fo_client, shorts):
    booked(submit(fo_client, side="SELL", quantity="100"))
    assert Position.objects.get(instrument=shorts).traded_quantity == 0


def test_a_sale_one_share_beyond_the_position_is_short_and_held(fo_client, shorts):
    assert booked(submit(fo_client, side="SELL", quantity="101"), "HELD")["hold_reasons"] == [
        f"[locate] Sale of 101 {APPLE} is short: the position covers 100, the short position after it (1) needs a "
        f"locate or borrow (0 recorded for 2026-11-20)."]


@pytest.mark.parametrize(("located", "status"), [("50", "BOOKED"), ("49", "HELD")])
def test_a_locate_for_the_trade_date_covers_the_short_position_after_the_trade(fo_client, shorts, accounts,
                                                                              located, status):
    Locate.objects.create(account=accounts["ACC-001"], instrument=shorts, kind="LOCATE", quantity=Decimal(located),
                          source="Desk", reference="L-1", valid_from=date(2026, 11, 20), valid_to=date(2026, 11, 20))
    Locate.objects.create(account=accounts["ACC-001"], instrument=shorts, kind="LOCATE", quantity=Decimal(1000),
                          source="Desk", reference="L-0", valid_from=date(2026, 11, 19), valid_to=date(2026, 11, 19))
    Locate.objects.create(account=accounts["ACC-001"], instrument=shorts, kind="BORROW", quantity=Decimal(1000),
                          source="Desk", reference="B-ended", valid_from=date(2026, 11, 1),
                          valid_to=date(2026, 11, 18), ended_at="2026-11-19T12:00:00Z")  # returned on the 19th
    Locate.objects.create(account=accounts["ACC-001"], instrument=shorts, kind="LOCATE", quantity=Decimal(1000),
                          source="Desk", reference="L-withdrawn", valid_from=date(2026, 11, 20),
                          valid_to=date(2026, 11, 20), ended_at="2026-11-19T12:00:00Z")  # withdrawn before its day
    booked(submit(fo_client, side="SELL", quantity="150"), status)


def test_a_borrow_returned_since_still_covers_a_short_sale_dated_before_its_return(fo_client, shorts, accounts):
    """A borrow returned on the 25th (locate_end: valid_to the 24th) covered the 20th: a late trade dated then
    counts it, as the locates page shows it in force on that day."""
    Locate.objects.create(account=accounts["ACC-001"], instrument=shorts, kind="BORROW", quantity=Decimal(50),
                          source="Lender", reference="B-returned", valid_from=date(2026, 11, 2),
                          valid_to=date(2026, 11, 24), ended_at="2026-11-25T09:00:00Z")
    booked(submit(fo_client, side="SELL", quantity="150"))
    assert booked(submit(fo_client, external_ref="second", side="SELL", quantity="1"), "HELD")


def test_in_the_penalty_box_a_locate_is_not_enough_and_the_sale_is_rejected(fo_client, shorts, accounts):
    Locate.objects.create(account=accounts["ACC-001"], instrument=shorts, kind="LOCATE", quantity=Decimal(1000),
                          source="Desk", reference="L-1", valid_from=date(2026, 11, 20))
    PenaltyBoxEntry.objects.create(account=accounts["ACC-001"], instrument=shorts, fail_id=7,
                                   close_out_deadline=date(2026, 11, 10), since=date(2026, 11, 11), reason="fail 7")
    assert refused(submit(fo_client, side="SELL", quantity="150"),
                   f"[locate] Account ACC-001 is in the Reg SHO penalty box for {APPLE} since 2026-11-11: a short "
                   f"sale needs a pre-borrow (short 50 after the trade, 0 borrowed).")
    booked(submit(fo_client, external_ref="long", side="SELL", quantity="100"))  # long sales are not concerned


@pytest.mark.parametrize(("borrowed", "ok"), [("50", True), ("49", False)])
def test_in_the_penalty_box_a_borrow_covers_it(fo_client, shorts, accounts, borrowed, ok):
    Locate.objects.create(account=accounts["ACC-001"], instrument=shorts, kind="BORROW", quantity=Decimal(borrowed),
                          source="Lender", reference="B-1", valid_from=date(2026, 11, 2))
    PenaltyBoxEntry.objects.create(account=accounts["ACC-001"], instrument=shorts, fail_id=7,
                                   close_out_deadline=date(2026, 11, 10), since=date(2026, 11, 11), reason="fail 7")
    PenaltyBoxEntry.objects.create(account=accounts["ACC-001"], instrument=shorts, fail_id=8, reason="released",
                                   close_out_deadline=date(2026, 10, 1), since=date(2026, 10, 2),
                                   released_on=date(2026, 10, 9))
    response = submit(fo_client, side="SELL", quantity="150")
    if ok:
        booked(response)
    else:
        assert response.status_code == 400 and "penalty box" in response.json()["compliance"][0]


def test_the_penalty_box_rejects_even_when_the_rule_only_alerts(fo_client, shorts, accounts):
    from compliance.rules.models import ComplianceRule

    ComplianceRule.objects.filter(code="locate").update(action="ALERT")
    booked(submit(fo_client, external_ref="alerted", side="SELL", quantity="150"))  # outside the box: booked
    PenaltyBoxEntry.objects.create(account=accounts["ACC-001"], instrument=shorts, fail_id=7,
                                   close_out_deadline=date(2026, 11, 10), since=date(2026, 11, 11), reason="fail 7")
    assert submit(fo_client, side="SELL", quantity="1").status_code == 400


# --- POSITION_LIMIT --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("side", "quantity", "hit"), [("BUY", "101", True), ("BUY", "100", False),
                                                       ("SELL", "1901", True), ("SELL", "1900", False)])
def test_position_limit_on_the_projected_position(fo_client, instruments, accounts, counterparties, side, quantity,
                                                  hit):
    rule("max-position", "POSITION_LIMIT", "1000")
    position(accounts["ACC-001"], instruments["AAPL"], "900")
    response = submit(fo_client, side=side, quantity=quantity, price="1")
    if hit:
        after = 900 + int(quantity) if side == "BUY" else 900 - int(quantity)
        assert refused(response, f"[max-position] Position of ACC-001 in {APPLE} would be {after:,} after the trade: "
                                 f"above the limit of 1,000.")
    else:
        booked(response)


# --- CONCENTRATION ---------------------------------------------------------------------------------------------

@pytest.fixture
def portfolio(instruments, accounts, counterparties):
    """ACC-001 holds 100 AAPL at 100 and 300 MSFT at 100 (USD), and 100 SAP at 50 EUR = 100 USD (rate 2)."""
    account = accounts["ACC-001"]
    position(account, instruments["AAPL"], "100")
    position(account, instruments["MSFT"], "300")
    position(account, instruments["SAP"], "100")
    price(instruments["AAPL"], "100")
    price(instruments["MSFT"], "100")
    price(instruments["SAP"], "50")
    fx("EUR", "USD", "2")
    return account


@pytest.mark.parametrize(("quantity", "hit"), [("167", True), ("166", False)])
def test_concentration_of_the_projected_position(fo_client, portfolio, quantity, hit):
    # Buying q AAPL at 100: (100 + q) x 100 of (100 + q) x 100 + 30,000 (MSFT) + 10,000 (SAP in USD).
    # Above 40% from q = 167 (26,700 of 66,700 = 40.03%); q = 166 is 39.94%.
    rule("concentration-40", "CONCENTRATION", "40", params={"min_portfolio_value": "1000"})
    response = submit(fo_client, quantity=quantity)
    if hit:
        assert refused(response, f"[concentration-40] Position in {APPLE} would be 40.03% of the gross market value "
                                 f"of ACC-001 (66,700.00 USD) after the trade: more than 40%.")
    else:
        booked(response)


@pytest.mark.parametrize(("floor", "hit"), [("60000", True), ("60000.01", False)])
def test_concentration_only_counts_over_the_minimum_portfolio_value(fo_client, portfolio, floor, hit):
    rule("concentration-25", "CONCENTRATION", "25", params={"min_portfolio_value": floor})
    response = submit(fo_client, quantity="100")  # AAPL 20,000 of 60,000 USD: 33%
    assert response.status_code == (400 if hit else 201)


def test_concentration_leaves_out_holdings_without_a_price(fo_client, instruments, accounts, counterparties):
    rule("concentration-50", "CONCENTRATION", "50")
    position(accounts["ACC-001"], instruments["MSFT"], "1000000")  # no price: not valued
    price(instruments["AAPL"], "100")
    assert submit(fo_client, quantity="1").status_code == 400  # AAPL alone is 100% of what can be valued


# --- in bulk ---------------------------------------------------------------------------------------------------

def test_bulk_reports_each_rule_per_item(fo_client, instruments, accounts, counterparties):
    rule("lots", "QUANTITY", "500")
    rule("bp", "BUYING_POWER", "0")
    cash(accounts["ACC-001"], "USD", "999")  # + 1,000 of credit

    out = bulk(fo_client, [body(external_ref="A", quantity="501", price="1"),
                           body(external_ref="B", quantity="20", price="100"),
                           body(external_ref="C", quantity="10", price="100")]).json()
    assert [r["status"] for r in out["results"]] == ["rejected", "rejected", "created"]
    assert out["results"][0]["errors"] == {"compliance": ["[lots] Quantity 501 exceeds the limit of 500 per trade."]}
    assert out["results"][1]["errors"]["compliance"][0].startswith("[bp] Buy of 2,000.00 USD exceeds buying power")
