# ruff: noqa: F811 - the fixtures imported from helpers_matching are parameters of the tests
"""Matching under real concurrency on PostgreSQL: transactions on their own connections, in threads.

Each test holds both transactions at the point the race is worst (their rows written, not yet
committed, neither matched), then lets them go: without the per-(counterparty, instrument) locks both
would look, see nothing of the other, and commit two unmatched halves.
"""

import random
import threading
from decimal import Decimal

import pytest
from django.db import connections
from django.test.utils import override_settings

from clearing.matching.services import confirmations as confirmation_services
from clearing.matching.services import matching
from clearing.models import Confirmation
from records.trades import services as trade_services
from records.trades.models import Trade
from records.trades.services import TradeInput
from tests.clearing.helpers_matching import APPLE, TRADE_DATE, firm  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)

# Both sides wait here after writing their rows and before matching them.
_gate: dict = {}


def paused_hook(*, trade_ids, event, actor):
    """The trade hook, once the trade is written but before it looks for confirmations."""
    _gate["barrier"].wait(timeout=20)
    matching.matching_on_trades(trade_ids=trade_ids, event=event, actor=actor)


_real_confirmations_match = confirmation_services.confirmations_match


def paused_confirmations_match(**kwargs):
    _gate["barrier"].wait(timeout=20)
    return _real_confirmations_match(**kwargs)


def run_together(*targets) -> list:
    """Run each target in its own thread and connection; return the errors raised."""
    errors = []

    def run(target):
        try:
            target()
        except Exception as exc:  # reported to the test
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(target,)) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads), "a transaction never finished"
    return errors


@pytest.fixture
def gated(monkeypatch):
    """Hold the two sides at the gate: the trade hook and the confirmations' matching pass."""
    _gate["barrier"] = threading.Barrier(2)
    monkeypatch.setattr(confirmation_services, "confirmations_match", paused_confirmations_match)
    with override_settings(TRADE_HOOKS=["tests.clearing.test_concurrency_matching.paused_hook"]):
        yield
    _gate.clear()


def test_a_trade_and_its_confirmation_arriving_at_once_are_matched(firm, gated):
    errors = run_together(lambda: firm.trade("OMS-1"), lambda: firm.confirm("C-1"))
    assert errors == []
    confirmation = Confirmation.objects.get()
    trade = Trade.objects.get()
    assert (confirmation.match_status, confirmation.trade_id, trade.match_status) == ("MATCHED", trade.pk, "MATCHED")


def test_two_identical_confirmations_of_one_trade_arriving_at_once_match_it_once(firm, monkeypatch):
    trade = firm.trade("OMS-1")
    _gate["barrier"] = threading.Barrier(2)
    monkeypatch.setattr(confirmation_services, "confirmations_match", paused_confirmations_match)
    errors = run_together(lambda: firm.confirm("C-1"), lambda: firm.confirm("C-2"))
    _gate.clear()
    assert errors == []
    states = sorted(Confirmation.objects.values_list("match_status", "trade_id"))
    assert states == [("MATCHED", trade.pk), ("UNMATCHED", None)]
    assert Trade.objects.get(pk=trade.pk).match_status == "MATCHED"


def test_the_same_confirmation_sent_twice_at_once_is_stored_once(firm):
    firm.trade("OMS-1")
    results = []
    errors = run_together(*[lambda: results.append(confirmation_services.confirmation_submit(
        submitted_by=firm.broker, item=firm.item("C-1")))] * 2)
    assert errors == []
    assert sorted(r.status for r in results) == ["created", "duplicate"]
    assert len({r.confirmation_id for r in results}) == 1
    assert Confirmation.objects.get().match_status == "MATCHED"


def test_many_trades_and_confirmations_from_four_clients_at_once_all_pair_up_one_to_one(firm):
    """Six identical trades and six identical confirmations, in batches from four clients in random order."""
    rng = random.Random(7)
    work = [("trade", n) for n in range(6)] + [("confirmation", n) for n in range(6)]
    rng.shuffle(work)
    lanes = [work[lane::4] for lane in range(4)]

    def client(lane):
        def send():
            for kind, n in lane:
                if kind == "trade":
                    trade_services.trade_submit(submitted_by=firm.oms, item=TradeInput(
                        external_ref=f"OMS-{n}", account="ACC-001", counterparty="BRKR-A", instrument=APPLE,
                        side="BUY", quantity=Decimal(100), price=Decimal("189.25"), trade_date=TRADE_DATE))
                else:
                    confirmation_services.confirmation_submit(submitted_by=firm.broker, item=firm.item(f"C-{n}"))
        return send

    assert run_together(*[client(lane) for lane in lanes]) == []
    pairs = list(Confirmation.objects.values_list("match_status", "trade_id"))
    assert [status for status, _ in pairs] == ["MATCHED"] * 6
    assert len({trade for _, trade in pairs}) == 6
    assert set(Trade.objects.values_list("match_status", flat=True)) == {"MATCHED"}
