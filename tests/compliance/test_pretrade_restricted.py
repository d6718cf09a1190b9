"""The restricted-list pre-trade check (compliance.pretrade.RestrictedListCheck, first in PRETRADE_CHECKS).

A trade in an instrument restricted on its trade date is refused under "compliance" with the entry's
reason, alone or in a bulk, and books nothing; the day after the entry's last day, or before its first,
it books. The check costs one query per batch, however many trades and trade dates the batch holds.
"""

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.test import override_settings

from compliance.pretrade import RestrictedListCheck
from compliance.restricted import services
from records.audit.models import AuditRecord
from records.positions.models import Position
from records.trades.models import Trade
from records.trades.pretrade import HOLD, TradeCandidate
from tests.conftest import APPLE, MICROSOFT, make_user

pytestmark = pytest.mark.django_db
TRADE_DATE = date(2026, 11, 20)  # a Friday
REASON = "Advisory mandate: material non-public information"
REFUSED = f"Instrument {APPLE} is on the restricted list on 2026-11-20: {REASON}"


def body(**overrides):
    trade = {"external_ref": "OMS-1", "account": "ACC-001", "counterparty": "BRKR-A", "instrument": APPLE,
             "side": "BUY", "quantity": "100", "price": "189.25", "trade_date": TRADE_DATE.isoformat()}
    return {**trade, **overrides}


def post(client, url, data):
    return client.post(url, data=json.dumps(data), content_type="application/json")


def restrict(instrument, effective_from, effective_to=None, reason=REASON):
    with transaction.atomic():
        return services.restricted_create(actor=make_user(f"officer-{instrument.pk}-{effective_from}", "compliance"),
                                          instrument=instrument, reason=reason, effective_from=effective_from,
                                          effective_to=effective_to)


@pytest.fixture
def firm(instruments, accounts, counterparties):
    return instruments


def nothing_booked():
    return (Trade.objects.count(), Position.objects.count(),
            AuditRecord.objects.filter(record_type="records.trade").count()) == (0, 0, 0)


def test_a_trade_in_a_restricted_instrument_is_refused_with_the_reason(fo_client, firm):
    restrict(firm["AAPL"], date(2026, 11, 1))
    response = post(fo_client, "/api/v1/trades/", body())
    assert response.status_code == 400
    assert response.json() == {"compliance": [REFUSED]}
    assert nothing_booked()


def test_the_restricted_list_is_reported_with_the_other_failed_checks(fo_client, firm):
    restrict(firm["AAPL"], date(2026, 11, 1), date(2026, 11, 20))
    response = post(fo_client, "/api/v1/trades/", body(currency="EUR"))
    assert response.status_code == 400
    assert response.json() == {"compliance": [REFUSED, f"Instrument {APPLE} trades in USD, not EUR."]}
    assert nothing_booked()


def test_the_day_after_the_last_restricted_day_the_trade_books(fo_client, firm):
    restrict(firm["AAPL"], date(2026, 11, 2), date(2026, 11, 19))
    response = post(fo_client, "/api/v1/trades/", body())
    assert response.status_code == 201
    assert response.json()["status"] == "BOOKED"
    assert Position.objects.get(account__code="ACC-001", instrument__isin=APPLE).traded_quantity == Decimal("100")


def test_an_entry_effective_from_the_next_day_does_not_restrict_the_trade_date(fo_client, firm):
    restrict(firm["AAPL"], TRADE_DATE + timedelta(days=1))
    response = post(fo_client, "/api/v1/trades/", body())
    assert (response.status_code, response.json()["status"]) == (201, "BOOKED")


def test_an_ended_entry_no_longer_restricts_and_a_withdrawn_one_never_did(fo_client, firm):
    from django.utils import timezone

    from records.reference.services.calendar import is_trading_session

    today = timezone.localdate()
    if not all(is_trading_session(market=firm[s].market, day=d) for s in ("AAPL", "MSFT")
               for d in (today, today - timedelta(days=1))):
        pytest.skip("needs today and yesterday to be Nasdaq sessions: an entry ends as of today's date")
    ended = restrict(firm["AAPL"], today - timedelta(days=5))
    withdrawn = restrict(firm["MSFT"], today)
    officer = make_user("closer", "compliance")
    with transaction.atomic():
        services.restricted_end(actor=officer, entry_id=ended.pk, reason="deal public")
        services.restricted_end(actor=officer, entry_id=withdrawn.pk, reason="mandate lost")
    yesterday = (today - timedelta(days=1)).isoformat()
    trades = [body(external_ref="E-1", trade_date=today.isoformat()),
              body(external_ref="E-2", trade_date=yesterday),
              body(external_ref="E-3", instrument=MICROSOFT, price="415", trade_date=today.isoformat())]
    out = post(fo_client, "/api/v1/trades/bulk/", {"trades": trades}).json()
    assert [r["status"] for r in out["results"]] == ["created", "rejected", "created"]
    assert out["results"][1]["errors"] == {
        "compliance": [f"Instrument {APPLE} is on the restricted list on {yesterday}: {REASON}"]}


def test_bulk_books_the_unrestricted_trades_and_refuses_the_restricted_ones(fo_client, firm):
    restrict(firm["AAPL"], date(2026, 11, 20), date(2026, 11, 20))
    trades = [body(external_ref="B-1"), body(external_ref="B-2", trade_date="2026-11-19"),
              body(external_ref="B-3", instrument=MICROSOFT, price="415"), body(external_ref="B-4", quantity="7")]
    response = post(fo_client, "/api/v1/trades/bulk/", {"trades": trades})
    assert response.status_code == 200
    out = response.json()
    assert (out["created"], out["rejected"], out["duplicates"]) == (2, 2, 0)
    assert [r["status"] for r in out["results"]] == ["rejected", "created", "created", "rejected"]
    assert out["results"][0]["errors"] == {"compliance": [REFUSED]}
    assert out["results"][3]["errors"] == {"compliance": [REFUSED]}
    assert sorted(Trade.objects.values_list("external_ref", flat=True)) == ["B-2", "B-3"]
    assert Position.objects.get(account__code="ACC-001", instrument__isin=APPLE).traded_quantity == Decimal("100")


def test_an_amendment_in_a_restricted_period_is_refused_and_changes_nothing(fo_client, firm):
    trade_id = post(fo_client, "/api/v1/trades/", body()).json()["id"]
    restrict(firm["AAPL"], date(2026, 11, 20))
    response = post(fo_client, f"/api/v1/trades/{trade_id}/amend/", {"quantity": "150", "reason": "typo"})
    assert response.status_code == 400 and response.json() == {"compliance": [REFUSED]}
    trade = Trade.objects.get(pk=trade_id)
    assert (trade.quantity, trade.version, trade.status) == (Decimal("100"), 1, "BOOKED")


def test_with_action_hold_a_restricted_trade_books_held(fo_client, firm):
    restrict(firm["AAPL"], date(2026, 11, 1))
    with override_settings(PRETRADE_CHECKS=[{"NAME": "compliance.pretrade.RestrictedListCheck",
                                             "OPTIONS": {"action": HOLD}}]):
        response = post(fo_client, "/api/v1/trades/", body())
    assert response.status_code == 201
    assert (response.json()["status"], response.json()["hold_reasons"]) == ("HELD", [REFUSED])


def test_the_check_costs_one_query_for_a_thousand_trades_on_many_dates(firm, accounts, counterparties,
                                                                       django_assert_num_queries):
    restrict(firm["AAPL"], date(2026, 11, 10), date(2026, 11, 14))
    restrict(firm["MSFT"], date(2026, 11, 20), reason="Watch list escalation")
    candidates = [
        TradeCandidate(index=i, account=accounts["ACC-001"], counterparty=counterparties["BRKR-A"],
                       instrument=firm[("AAPL", "MSFT", "SAP", "VOD")[i % 4]], side="BUY", quantity=Decimal("1"),
                       price=Decimal("10"), currency="USD", trade_date=date(2026, 11, 1) + timedelta(days=i % 30),
                       settlement_date=date(2026, 12, 31), commission=Decimal("0"))
        for i in range(1000)]
    check = RestrictedListCheck()
    with django_assert_num_queries(1):
        outcomes = check.check_batch(candidates)
    expected = [c.index for c in candidates
                if (c.instrument.isin == APPLE and date(2026, 11, 10) <= c.trade_date <= date(2026, 11, 14))
                or (c.instrument.isin == MICROSOFT and c.trade_date >= date(2026, 11, 20))]
    assert [o.index for o in outcomes] == expected and len(expected) > 50
    assert {o.check for o in outcomes} == {"restricted_list"}


def test_a_thousand_trade_bulk_runs_the_restricted_list_in_one_query(fo_client, firm):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    restrict(firm["AAPL"], date(2026, 11, 20), date(2026, 11, 20))
    trades = [body(external_ref=f"K-{i}", trade_date=("2026-11-19", "2026-11-20")[i % 2]) for i in range(1000)]
    with CaptureQueriesContext(connection) as queries:
        out = post(fo_client, "/api/v1/trades/bulk/", {"trades": trades}).json()
    assert (out["created"], out["rejected"]) == (500, 500)
    assert [r["status"] for r in out["results"][:4]] == ["created", "rejected", "created", "rejected"]
    restricted = [q for q in queries.captured_queries if "compliance_restrictedinstrument" in q["sql"]]
    assert len(restricted) == 1
