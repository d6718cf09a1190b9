# ruff: noqa: F811 - the fixtures imported from helpers_netting are parameters of the tests
"""Netting's invariants (DESIGN.md §5) over random sets of trades, each booked through trade capture.

- the obligations of a run sum exactly to the trades they net, per (account, settlement counterparty,
  instrument, settlement date, currency): quantities exactly; cash as the exact sum of quantity x price,
  rounded once to the amount field's four places (half away from zero) only when it has more;
- a trade is netted at most once, and exactly the eligible ones are (BOOKED, of the date, matched unless
  the counterparty needs no matching);
- signs: net quantity = Σ buy - Σ sell (positive: the account receives securities), net cash = Σ sell value
  - Σ buy value (positive: the account receives cash);
- novated trades net against the CCP the counterparty clears through;
- running the date again changes nothing; how the run is cut into chunks changes nothing.
"""

from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal, localcontext

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clearing.models import NettedTrade, Obligation
from records.trades.models import Trade
from tests.clearing.helpers_netting import SETTLES, firm, net, netting_alone, state  # noqa: F401

pytestmark = pytest.mark.django_db

ACCOUNTS = ("ACC-001", "HOUSE")
# BRKR-A clears through NSCC (novated), NSCC is the CCP, BRKR-B and BRKR-C are bilateral.
COUNTERPARTIES = ("NSCC", "BRKR-A", "BRKR-B", "BRKR-C")
NEEDS_MATCHING = {"BRKR-A", "BRKR-C"}
SETTLEMENT_COUNTERPARTY = {"NSCC": "NSCC", "BRKR-A": "NSCC", "BRKR-B": "BRKR-B", "BRKR-C": "BRKR-C"}
INSTRUMENTS = ("AAPL", "MSFT", "SAP")  # SAP settles a day later (T+2): never in the run of SETTLES
FOUR_PLACES = Decimal("0.0001")


def decimals(places: int, low: str, high: str):
    return st.decimals(min_value=Decimal(low), max_value=Decimal(high), places=places, allow_nan=False,
                       allow_infinity=False)


trade = st.fixed_dictionaries({
    "account": st.sampled_from(ACCOUNTS),
    "counterparty": st.sampled_from(COUNTERPARTIES),
    "instrument": st.sampled_from(INSTRUMENTS),
    "side": st.sampled_from(("BUY", "SELL")),
    "quantity": st.one_of(decimals(0, "1", "5000"), decimals(6, "0.000001", "5000")),
    "price": st.one_of(decimals(2, "0.01", "900"), decimals(8, "0.00000001", "900")),
    "status": st.sampled_from(("BOOKED", "BOOKED", "BOOKED", "HELD", "CANCELLED")),
    "matched": st.booleans(),
})


class Rollback(Exception):
    pass


def book(firm, trades) -> list[tuple[int, dict]]:
    ids = firm.book(*[(t["account"], t["counterparty"], t["instrument"], t["side"], str(t["quantity"]),
                       str(t["price"])) for t in trades])
    for status in ("HELD", "CANCELLED"):
        Trade.objects.filter(pk__in=[i for i, t in zip(ids, trades, strict=True) if t["status"] == status]).update(
            status=status)
    firm.match([i for i, t in zip(ids, trades, strict=True) if t["matched"]])
    return list(zip(ids, trades, strict=True))


def eligible(t: dict) -> bool:
    return (t["status"] == "BOOKED" and t["instrument"] != "SAP"
            and (t["matched"] or t["counterparty"] not in NEEDS_MATCHING))


def expected_obligations(booked) -> dict:
    """Per key: (net quantity, exact net cash, trades, buy qty, sell qty, exact buy value, exact sell value)."""
    sums = defaultdict(lambda: [Decimal(0)] * 4 + [0, Decimal(0), Decimal(0)])
    with localcontext() as ctx:
        ctx.prec = 80  # quantity × price and their sums, exactly
        for _trade_id, t in booked:
            if not eligible(t):
                continue
            key = (t["account"], SETTLEMENT_COUNTERPARTY[t["counterparty"]], t["instrument"], "USD")
            row = sums[key]
            value = t["quantity"] * t["price"]
            if t["side"] == "BUY":
                row[0] += t["quantity"]
                row[2] += t["quantity"]
                row[5] += value
                row[1] -= value
            else:
                row[0] -= t["quantity"]
                row[3] += t["quantity"]
                row[6] += value
                row[1] += value
            row[4] += 1
    return sums


def rounded(exact: Decimal) -> Decimal:
    """What the amount column keeps: exact when it has four places or fewer, else rounded half away from zero."""
    return exact if -exact.as_tuple().exponent <= 4 else exact.quantize(FOUR_PLACES, ROUND_HALF_UP)


def found_obligations(run) -> dict:
    return {(o.account.code, o.counterparty.code, o.instrument.symbol, o.currency): o
            for o in Obligation.objects.filter(run=run).select_related("account", "counterparty", "instrument")}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(trades=st.lists(trade, min_size=1, max_size=24), per_chunk=st.integers(min_value=1, max_value=30))
def test_a_run_nets_exactly_the_eligible_trades_into_obligations_that_sum_to_them(firm, trades, per_chunk):
    try:
        with transaction.atomic():
            booked = book(firm, trades)
            run = net(trades_per_chunk=per_chunk)
            assert run.job.status == "COMPLETED", run.job.error

            expected = expected_obligations(booked)
            found = found_obligations(run)
            assert set(found) == set(expected)
            for key, (net_quantity, net_cash, buy_q, sell_q, count, buy_v, sell_v) in expected.items():
                o = found[key]
                assert (o.net_quantity, o.buy_quantity, o.sell_quantity, o.trade_count) == (
                    net_quantity, buy_q, sell_q, count), key
                assert (o.net_cash, o.buy_value, o.sell_value) == (rounded(net_cash), rounded(buy_v),
                                                                   rounded(sell_v)), key
                assert o.settlement_date == SETTLES and o.status == "OPEN"
                # Signs: the account receives securities when it bought more, cash when it sold for more.
                assert (o.net_quantity > 0) == (buy_q > sell_q) and (o.net_quantity < 0) == (sell_q > buy_q)
                if o.net_cash:  # not rounded to nothing
                    assert (o.net_cash > 0) == (sell_v > buy_v)

            # Each eligible trade netted once, into the obligation of its key; nothing else moved.
            links = dict(NettedTrade.objects.values_list("trade_id", "obligation_id"))
            by_id = {o.pk: key for key, o in found.items()}
            statuses = dict(Trade.objects.values_list("id", "status"))
            for trade_id, t in booked:
                if eligible(t):
                    assert by_id[links[trade_id]] == (t["account"], SETTLEMENT_COUNTERPARTY[t["counterparty"]],
                                                      t["instrument"], "USD")
                    assert statuses[trade_id] == "CLEARED"
                else:
                    assert trade_id not in links and statuses[trade_id] == t["status"]
            assert run.trades_netted == len(links) == sum(eligible(t) for _, t in booked)
            assert run.obligations_created == len(found)
            assert run.net_quantity == sum(abs(o.net_quantity) for o in found.values())

            # Running the date again changes nothing.
            before = state()
            again = net()
            assert (again.trades_netted, again.obligations_created) == (0, 0)
            after = state()
            assert after["runs"][:-1] == before["runs"]
            assert {k: v for k, v in after.items() if k != "runs"} == {k: v for k, v in before.items() if k != "runs"}
            raise Rollback
    except Rollback:
        pass


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(trades=st.lists(trade, min_size=1, max_size=16), per_chunk=st.integers(min_value=1, max_value=5))
def test_how_a_run_is_cut_into_chunks_changes_nothing(firm, trades, per_chunk):
    outcomes = []
    for chunking in ({}, {"trades_per_chunk": per_chunk}):
        try:
            with transaction.atomic():
                booked = book(firm, trades)
                run = net(**chunking)
                outcomes.append(sorted(
                    (key, o.net_quantity, o.net_cash, o.trade_count, o.buy_value, o.sell_value)
                    for key, o in found_obligations(run).items()))
                outcomes.append(sorted((t["account"], t["instrument"], t["side"], str(t["quantity"]),
                                        Trade.objects.get(pk=trade_id).status) for trade_id, t in booked))
                raise Rollback
        except Rollback:
            pass
    assert outcomes[0] == outcomes[2] and outcomes[1] == outcomes[3]
