"""How the pre-trade rules apply (compliance.pretrade): scope precedence, effective dates, inactive rules, a batch's
cumulative effect, amendments, the cost of a batch in queries, and the alerts of ALERT rules after booking."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from compliance import pretrade
from compliance.alerts.models import Alert, AlertEvent
from compliance.pretrade import RulesCheck, alerts_on_trades
from compliance.rules.models import ComplianceRule
from compliance.shorts.models import Locate, PenaltyBoxEntry
from records.audit.models import AuditRecord
from records.trades import hooks
from records.trades.models import Trade
from records.trades.pretrade import TradeCandidate
from records.trades.services import TradeInput, trade_release, trade_submit_batch
from tests.compliance.pretrade_helpers import DAY, body, bulk, cash, fx, position, post, price, rule, submit
from tests.conftest import APPLE, MICROSOFT, SAP

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rules_cache():
    pretrade._rules_cache.clear()
    yield
    pretrade._rules_cache.clear()


# --- which rules apply -----------------------------------------------------------------------------------------

def test_an_account_rule_overrides_the_rules_for_all(fo_client, instruments, accounts, counterparties):
    # The defaults hold above 50M and reject above 250M; ACC-001's own notional rule replaces both for it.
    rule("acc-001-notional", "NOTIONAL", "1000000000", scope="ACCOUNT", scope_value="ACC-001")
    assert submit(fo_client, quantity="3000000", price="100").json()["status"] == "BOOKED"  # 300M
    response = submit(fo_client, external_ref="HOUSE", account="HOUSE", quantity="3000000", price="100")
    assert response.status_code == 400
    assert response.json()["compliance"][0].startswith("[notional-reject]")


def test_an_instrument_rule_overrides_an_asset_class_rule_which_overrides_all(fo_client, instruments, accounts,
                                                                               counterparties):
    rule("equities", "QUANTITY", "10", scope="ASSET_CLASS", scope_value="EQUITY")
    rule("apple", "QUANTITY", "20", scope="INSTRUMENT", scope_value=APPLE)
    assert submit(fo_client, quantity="20", price="1").status_code == 201
    assert submit(fo_client, external_ref="2", quantity="21", price="1").json()["compliance"] == [
        "[apple] Quantity 21 exceeds the limit of 20 per trade."]
    assert submit(fo_client, external_ref="3", instrument=MICROSOFT, quantity="11", price="1").json()[
        "compliance"] == ["[equities] Quantity 11 exceeds the limit of 10 per trade."]


def test_every_rule_of_the_most_specific_level_applies(fo_client, instruments, accounts, counterparties):
    rule("acc-hold", "NOTIONAL", "1000", "HOLD", scope="ACCOUNT", scope_value="ACC-001")
    rule("acc-reject", "NOTIONAL", "2000", scope="ACCOUNT", scope_value="ACC-001")
    held = submit(fo_client, price="15").json()
    assert (held["status"], held["hold_reasons"]) == (
        "HELD", ["[acc-hold] Notional 1,500.00 USD exceeds the limit of 1,000.00 USD per trade."])
    assert submit(fo_client, external_ref="2", price="25").json()["compliance"] == [
        "[acc-reject] Notional 2,500.00 USD exceeds the limit of 2,000.00 USD per trade."]


@pytest.mark.parametrize(("effective_from", "effective_to", "applies"), [
    (date(2026, 11, 20), None, True), (date(2026, 11, 23), None, False), (None, date(2026, 11, 20), True),
    (None, date(2026, 11, 19), False)])
def test_a_rule_applies_on_the_trade_dates_it_is_effective(fo_client, instruments, accounts, counterparties,
                                                           effective_from, effective_to, applies):
    rule("dated", "QUANTITY", "10", effective_from=effective_from, effective_to=effective_to)
    assert submit(fo_client, quantity="11", price="1").status_code == (400 if applies else 201)


def test_an_inactive_rule_does_not_apply(fo_client, instruments, accounts, counterparties):
    rule("off", "QUANTITY", "10", active=False)
    assert submit(fo_client, quantity="11", price="1").status_code == 201


def test_an_inactive_specific_rule_leaves_the_general_ones(fo_client, instruments, accounts, counterparties):
    rule("acc-off", "QUANTITY", "1000000000", scope="ACCOUNT", scope_value="ACC-001", active=False)
    assert submit(fo_client, quantity="60000000", price="1").json()["compliance"] == [
        "[quantity-reject] Quantity 60,000,000 exceeds the limit of 50,000,000 per trade."]


# --- a batch's cumulative effect -------------------------------------------------------------------------------

def test_two_buys_of_one_batch_that_together_exceed_buying_power(fo_client, instruments, accounts, counterparties):
    rule("bp", "BUYING_POWER", "0")
    cash(accounts["ACC-001"], "USD", "9000")  # + 1,000 of credit
    out = bulk(fo_client, [body(external_ref="A", price="60"), body(external_ref="B", price="40"),
                           body(external_ref="C", price="40.01"), body(external_ref="D", side="SELL")]).json()
    assert [r["status"] for r in out["results"]] == ["created", "created", "rejected", "created"]
    assert out["results"][2]["errors"]["compliance"] == [
        "[bp] Buy of 4,001.00 USD exceeds buying power of 0.00 USD (cash -1,000.00 available after 10,000.00 of "
        "buys not yet instructed, credit limit 1,000.00)."]


def test_a_refused_trade_of_the_batch_does_not_count_for_the_next(fo_client, instruments, accounts, counterparties):
    rule("bp", "BUYING_POWER", "0")
    rule("locate", "SHORT_SALE", None, "HOLD")
    cash(accounts["ACC-001"], "USD", "9000")
    out = bulk(fo_client, [body(external_ref="too-big", price="200"),  # refused: 20,000 > 10,000
                           body(external_ref="buy", price="100"),  # 10,000: all of it, booked
                           body(external_ref="sell", side="SELL", quantity="100"),  # long: the buy above covers it
                           body(external_ref="short", side="SELL", quantity="1")]).json()  # short: held
    assert [r["status"] for r in out["results"]] == ["rejected", "created", "created", "created"]
    assert dict(Trade.objects.values_list("external_ref", "status")) == {"buy": "BOOKED", "sell": "BOOKED",
                                                                         "short": "HELD"}


def test_a_held_trade_of_the_batch_does_not_count_for_the_next(fo_client, instruments, accounts, counterparties):
    rule("locate", "SHORT_SALE", None, "HOLD")
    rule("hold-big", "QUANTITY", "100", "HOLD")
    out = bulk(fo_client, [body(external_ref="held-buy", quantity="101", price="1"),
                           body(external_ref="sell", side="SELL", quantity="101", price="1")]).json()
    assert [r["status"] for r in out["results"]] == ["created", "created"]
    assert dict(Trade.objects.values_list("external_ref", "status")) == {"held-buy": "HELD", "sell": "HELD"}


# --- amendments ------------------------------------------------------------------------------------------------

def test_an_amendment_is_checked_without_counting_the_trade_twice(fo_client, instruments, accounts, counterparties):
    rule("bp", "BUYING_POWER", "0")
    rule("max-position", "POSITION_LIMIT", "150")
    cash(accounts["ACC-001"], "USD", "14000")  # + 1,000 of credit: 15,000
    trade_id = submit(fo_client, price="100").json()["id"]  # 100 x 100 = 10,000
    amend = f"/api/v1/trades/{trade_id}/amend/"
    # Its own 10,000 and its own 100 shares are replaced, not added to: 150 x 100 = 15,000 and 150 shares fit.
    assert post(fo_client, amend, {"quantity": "150", "reason": "more"}).status_code == 200
    response = post(fo_client, amend, {"quantity": "151", "reason": "more"})
    assert response.status_code == 400
    assert response.json() == {"compliance": [
        "[bp] Buy of 15,100.00 USD exceeds buying power of 15,000.00 USD (cash 14,000.00 available, "
        "credit limit 1,000.00).",
        f"[max-position] Position of ACC-001 in {APPLE} would be 151 after the trade: above the limit of 150."]}
    trade = Trade.objects.get(pk=trade_id)
    assert (trade.quantity, trade.version) == (Decimal("150"), 2)


def test_an_amendment_that_breaks_a_hold_rule_moves_the_trade_to_held(fo_client, instruments, accounts,
                                                                      counterparties):
    rule("fat-finger-price", "PRICE_DEVIATION", "10", "HOLD")
    price(instruments["AAPL"], "100")
    trade_id = submit(fo_client, price="101").json()["id"]
    response = post(fo_client, f"/api/v1/trades/{trade_id}/amend/", {"price": "120", "reason": "typo"})
    assert response.status_code == 200
    assert response.json()["status"] == "HELD"
    assert response.json()["hold_reasons"][0].startswith("[fat-finger-price] Price 120 USD is 20.00% away")


def test_a_short_sale_amended_within_the_position_is_fine(fo_client, instruments, accounts, counterparties):
    rule("locate", "SHORT_SALE", None, "HOLD")
    position(accounts["ACC-001"], instruments["AAPL"], "100")
    trade_id = submit(fo_client, side="SELL", quantity="60").json()["id"]  # position now 40
    assert post(fo_client, f"/api/v1/trades/{trade_id}/amend/", {"quantity": "100", "reason": "all"}).json()[
        "status"] == "BOOKED"
    assert post(fo_client, f"/api/v1/trades/{trade_id}/amend/", {"quantity": "101", "reason": "x"}).json()[
        "status"] == "HELD"


# --- cost in queries -------------------------------------------------------------------------------------------

@pytest.fixture
def every_kind(instruments, accounts, counterparties):
    """A rule of every pre-trade kind in force, and what they read."""
    ComplianceRule.objects.filter(kind__in=["BUYING_POWER", "SHORT_SALE", "PRICE_DEVIATION"]).update(active=True)
    rule("max-position", "POSITION_LIMIT", "100000000")
    rule("concentration-99", "CONCENTRATION", "100", params={"min_portfolio_value": "1"})
    for account in accounts.values():
        cash(account, "USD", "1000000000")
        cash(account, "EUR", "1000000000")
        position(account, instruments["AAPL"], "1000000")
    price(instruments["AAPL"], "100")
    price(instruments["SAP"], "50")
    fx("EUR", "USD", "1.1")
    return instruments


def candidates(n, instruments, accounts, counterparties):
    out = []
    for i in range(n):
        account = accounts["ACC-001" if i % 2 else "HOUSE"]
        instrument = instruments["SAP" if i % 3 == 0 else "AAPL"]
        out.append(TradeCandidate(
            index=i, account=account, counterparty=counterparties["BRKR-A"], instrument=instrument,
            side="SELL" if i % 4 == 1 else "BUY", quantity=Decimal(10 + i % 7), price=Decimal("100"),
            currency=instrument.currency, trade_date=DAY - timedelta(days=i % 3), settlement_date=DAY,
            commission=Decimal(0)))
    return out


def test_the_rules_cost_one_round_trip_whatever_the_size_of_the_batch(every_kind, accounts, counterparties):
    counts = []
    for n in (10, 10, 500):
        batch = candidates(n, every_kind, accounts, counterparties)
        with CaptureQueriesContext(connection) as queries:
            RulesCheck().check_batch(batch)
        counts.append(len(queries))
    # The first batch of the process reads the rules' generation and the rules. Then each batch sends the
    # generation and one statement per kind that reads data (buying power, short sale, position limit,
    # concentration, price deviation), all in one round trip.
    assert counts == [8, 6, 6]


def test_a_rule_changed_elsewhere_is_seen_by_the_next_batch(every_kind, accounts, counterparties):
    """The process's copy of the rules is never used once another process changed them: a queryset update (no
    signal, as from another process) moves the generation and the next batch reads the rules again."""
    rule("quantity-tight", "QUANTITY", "1000")
    batch = [c for c in candidates(8, every_kind, accounts, counterparties) if c.side == "BUY"]
    assert not [o for o in RulesCheck().check_batch(batch) if o.check == "quantity-tight"]
    ComplianceRule.objects.filter(code="quantity-tight").update(threshold=Decimal(5))
    assert pretrade._rules_cache  # no signal: the copy is still there
    hits = [o for o in RulesCheck().check_batch(batch) if o.check == "quantity-tight"]
    assert len(hits) == len(batch)


def test_rules_changed_and_rolled_back_are_never_taken_for_current(every_kind, accounts, counterparties):
    """A transaction that changes a rule, checks trades (its copy of the rules: its own change) and rolls back
    leaves a generation no later change repeats: the next batch reads the rules again."""
    rule("quantity-tight", "QUANTITY", "1000")
    rule("notional-tight", "NOTIONAL", "1000000000")
    batch = [c for c in candidates(8, every_kind, accounts, counterparties) if c.side == "BUY"]
    assert not [o for o in RulesCheck().check_batch(batch) if o.check == "quantity-tight"]
    with pytest.raises(RuntimeError), transaction.atomic():
        ComplianceRule.objects.filter(code="quantity-tight").update(threshold=Decimal(5))
        assert [o for o in RulesCheck().check_batch(batch) if o.check == "quantity-tight"]
        raise RuntimeError
    assert not [o for o in RulesCheck().check_batch(batch) if o.check == "quantity-tight"]
    ComplianceRule.objects.filter(code="notional-tight").update(active=False)  # another change: a new number
    assert not [o for o in RulesCheck().check_batch(batch) if o.check == "quantity-tight"]


def test_bulk_submission_costs_the_same_queries_for_60_or_500_trades(every_kind, front_office_user, accounts):
    counts = []
    for n in (60, 500):
        items = [(i, TradeInput(external_ref=f"Q{n}-{i}", account="ACC-001" if i % 2 else "HOUSE",
                                counterparty="BRKR-A", instrument=SAP if i % 3 == 0 else APPLE,
                                side="SELL" if i % 4 == 1 else "BUY", quantity=Decimal(10 + i % 7),
                                price=Decimal("50") if i % 3 == 0 else Decimal("100"), trade_date=DAY))
                 for i in range(n)]
        pretrade._rules_cache.clear()  # as at the start of each request
        with CaptureQueriesContext(connection) as queries:
            results = trade_submit_batch(submitted_by=front_office_user, items=items)
        assert {r.status for r in results.values()} == {"created"}
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_every_kind_in_force_in_one_batch(every_kind, fo_client, accounts):
    out = bulk(fo_client, [body(external_ref=f"K{i}", side="SELL" if i % 2 else "BUY", price="101")
                           for i in range(20)]).json()
    assert out["created"] == 20
    assert set(Trade.objects.values_list("status", flat=True)) == {"BOOKED"}


# --- ALERT rules: an alert after booking -----------------------------------------------------------------------

def test_an_alert_rule_books_the_trade_and_raises_one_alert(fo_client, instruments, accounts, counterparties):
    watch = rule("watch-notional", "NOTIONAL", "10000", "ALERT", severity="HIGH")
    near = submit(fo_client, external_ref="near", price="100")  # 10,000: not above
    assert near.json()["status"] == "BOOKED" and not Alert.objects.exists()
    response = submit(fo_client, price="100.01")
    assert response.status_code == 201 and response.json()["status"] == "BOOKED"
    trade_id = response.json()["id"]
    alert = Alert.objects.get()
    assert (alert.rule_id, alert.subject_type, alert.subject_id, alert.dedupe_key, alert.state, alert.severity) == (
        watch.pk, "TRADE", trade_id, f"trade:{trade_id}:v1", "OPEN", "HIGH")
    assert alert.summary == "[watch-notional] Notional 10,001.00 USD exceeds the limit of 10,000.00 USD per trade."
    assert alert.evidence["records"][0] == {"type": "TRADE", "id": trade_id,
                                            "label": f"Trade {trade_id}: BUY 100 {APPLE} @ 100.01 USD"}
    assert alert.evidence["figures"] == {"notional": "10001", "limit": "10000", "currency": "USD"}
    assert AlertEvent.objects.filter(alert=alert, to_state="OPEN").count() == 1
    assert AuditRecord.objects.filter(record_type="compliance.alert", record_id=str(alert.pk)).count() == 1
    # The hook again (a rerun): nothing new. An amendment is a new version: a new alert.
    with transaction.atomic():
        alerts_on_trades(trade_ids=[trade_id], event=hooks.BOOKED, actor="test")
    assert Alert.objects.count() == 1
    post(fo_client, f"/api/v1/trades/{trade_id}/amend/", {"price": "100.02", "reason": "fix"})
    assert sorted(Alert.objects.values_list("dedupe_key", flat=True)) == [f"trade:{trade_id}:v1",
                                                                            f"trade:{trade_id}:v2"]


def test_alert_rules_see_the_batch_as_it_was_before_booking(fo_client, instruments, accounts, counterparties):
    rule("watch-short", "SHORT_SALE", None, "ALERT")
    position(accounts["ACC-001"], instruments["AAPL"], "100")
    out = bulk(fo_client, [body(external_ref="long", side="SELL", quantity="60"),
                           body(external_ref="short", side="SELL", quantity="41"),
                           body(external_ref="buy", quantity="1000")]).json()
    assert out["created"] == 3
    short = Trade.objects.get(external_ref="short")
    alert = Alert.objects.get()
    assert alert.subject_id == short.pk
    assert alert.summary.startswith(f"[watch-short] Sale of 41 {APPLE} is short: the position covers 40, the short "
                                    f"position after it (1)")


def test_a_held_trade_alerts_when_released(fo_client, operations_user, instruments, accounts, counterparties):
    rule("hold-big", "QUANTITY", "100", "HOLD")
    rule("watch-notional", "NOTIONAL", "50", "ALERT")
    trade_id = submit(fo_client, quantity="101", price="1").json()["id"]
    assert not Alert.objects.exists()
    trade_release(actor=operations_user, trade_id=trade_id, reason="checked with the desk")
    assert Alert.objects.get().subject_id == trade_id


def test_without_alert_rules_the_hook_costs_nothing_once_cached(instruments, accounts, counterparties):
    alerts_on_trades(trade_ids=[1], event=hooks.BOOKED, actor="test")
    with CaptureQueriesContext(connection) as queries:
        alerts_on_trades(trade_ids=[1, 2, 3], event=hooks.BOOKED, actor="test")
    assert len(queries) == 0


def test_a_penalty_box_rejection_is_not_an_alert(fo_client, instruments, accounts, counterparties):
    rule("watch-short", "SHORT_SALE", None, "ALERT")
    PenaltyBoxEntry.objects.create(account=accounts["ACC-001"], instrument=instruments["AAPL"], fail_id=1,
                                   close_out_deadline=date(2026, 11, 1), since=date(2026, 11, 2), reason="fail")
    Locate.objects.create(account=accounts["ACC-001"], instrument=instruments["AAPL"], kind="LOCATE",
                          quantity=Decimal(10), source="Desk", reference="L", valid_from=date(2026, 11, 20))
    assert submit(fo_client, side="SELL", quantity="5").status_code == 400
    assert not Alert.objects.exists() and not Trade.objects.exists()


# --- the booked buys' cost, kept by triggers (migration compliance 0004) ---------------------------------------

def booked_buys():
    with connection.cursor() as cursor:
        cursor.execute("SELECT account_id, instrument_id, currency, cost FROM compliance_bookedbuys WHERE cost <> 0")
        kept = {(a, i, c): cost for a, i, c, cost in cursor.fetchall()}
    summed = {}
    for trade in Trade.objects.filter(status="BOOKED", side="BUY"):
        key = (trade.account_id, trade.instrument_id, trade.currency)
        summed[key] = summed.get(key, 0) + trade.quantity * trade.price + trade.commission
    return kept, summed


def test_the_booked_buys_cost_follows_every_change_of_the_trades(fo_client, operations_user, instruments, accounts,
                                                                 counterparties):
    out = bulk(fo_client, [body(external_ref=f"B{i}", price=str(100 + i), commission="1.5") for i in range(60)]
                          + [body(external_ref="S", side="SELL"), body(external_ref="E", instrument=SAP, price="7")]
               ).json()
    assert out["created"] == 62
    ids = [r["id"] for r in out["results"]]
    post(fo_client, f"/api/v1/trades/{ids[0]}/amend/", {"quantity": "250", "reason": "fill"})
    post(fo_client, f"/api/v1/trades/{ids[1]}/cancel/", {"reason": "error"})
    Trade.objects.filter(pk__in=ids[2:10]).update(status="CLEARED")
    Trade.objects.filter(pk=ids[10]).update(price=Decimal("1.25"))
    kept, summed = booked_buys()
    assert kept == summed and len(kept) == 2
    assert kept[(accounts["ACC-001"].pk, instruments["SAP"].pk, "EUR")] == Decimal(700)
