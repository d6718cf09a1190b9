# ruff: noqa: F811 - the fixtures imported from helpers_matching are parameters of the tests
"""Properties of matching, whatever the order things arrive in (hypothesis).

Trades and confirmations of a few kinds of terms arrive in any interleaving, one at a time or in
batches. Terms of one kind agree with each other (confirmation prices within the tolerance of the
trade price), terms of two kinds never do, so the most pairs there can be is, per kind, the smaller
of its trade and confirmation counts. Matching must end with exactly that many pairs (it pairs
whatever can be paired, so the count does not depend on the order), never a trade or a
confirmation in two of them, and every pair agreeing.
"""

from collections import Counter
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clearing.matching.services import confirmations as confirmation_services
from clearing.models import Confirmation
from records.trades import services as trade_services
from records.trades.models import Trade
from records.trades.services import TradeInput
from tests.clearing.helpers_matching import APPLE, SETTLES, TRADE_DATE, firm  # noqa: F401

pytestmark = pytest.mark.django_db
D = Decimal

# (quantity, our price): two kinds differ in one or the other by far more than 1 bp.
KINDS = [(D(100), D(100)), (D(100), D(101)), (D(250), D(100))]
# A confirmation's price may differ from ours within the equity tolerance (1 bp of 100 is 0.01).
OFFSETS = [D(0), D("0.005"), D("-0.004")]

arrival = st.tuples(st.sampled_from(["trade", "confirmation"]), st.integers(0, len(KINDS) - 1),
                    st.integers(0, len(OFFSETS) - 1))
# The arrivals in order, and where consecutive arrivals of one type are sent as one batch.
scenario = st.tuples(st.lists(arrival, min_size=1, max_size=14), st.lists(st.booleans(), min_size=14, max_size=14))


def batches(arrivals, cuts):
    """Group consecutive arrivals of the same type into one submission unless cut there."""
    groups = []
    for position, item in enumerate(arrivals):
        if groups and groups[-1][0][0] == item[0] and not cuts[position]:
            groups[-1].append(item)
        else:
            groups.append([item])
    return groups


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(scenario=scenario)
def test_matching_pairs_as_many_as_can_be_one_to_one_whatever_the_order(firm, scenario):
    arrivals, cuts = scenario
    with transaction.atomic():
        for number, group in enumerate(batches(arrivals, cuts)):
            if group[0][0] == "trade":
                items = [(n, TradeInput(external_ref=f"OMS-{number}-{n}", account="ACC-001", counterparty="BRKR-A",
                                        instrument=APPLE, side="BUY", quantity=KINDS[kind][0], price=KINDS[kind][1],
                                        trade_date=TRADE_DATE)) for n, (_, kind, _) in enumerate(group)]
                results = trade_services.trade_submit_batch(submitted_by=firm.oms, items=items)
            else:
                items = [(n, firm.item(f"C-{number}-{n}", quantity=str(KINDS[kind][0]),
                                       price=str(KINDS[kind][1] + OFFSETS[offset])))
                         for n, (_, kind, offset) in enumerate(group)]
                results = confirmation_services.confirmation_submit_batch(submitted_by=firm.broker, items=items)
            assert {r.status for r in results.values()} == {"created"}

        trades = Counter(kind for what, kind, _ in arrivals if what == "trade")
        confirmations = Counter(kind for what, kind, _ in arrivals if what == "confirmation")
        expected = sum(min(trades[kind], confirmations[kind]) for kind in range(len(KINDS)))

        matched = list(Confirmation.objects.filter(match_status="MATCHED").select_related("trade"))
        assert len(matched) == expected
        assert len({c.trade_id for c in matched}) == len(matched)  # never two confirmations on one trade
        for c in matched:
            assert (c.trade.quantity, c.trade.side, c.trade.settlement_date) == (c.quantity, "BUY", SETTLES)
            assert abs(c.trade.price - c.price) <= D("0.01")
        assert Trade.objects.filter(match_status="MATCHED").count() == expected
        # What is left open cannot pair: no kind has both an open confirmation and a free trade.
        open_kinds = {(c.quantity, c.price) for c in Confirmation.objects.exclude(match_status="MATCHED")}
        free_kinds = {(t.quantity, t.price) for t in Trade.objects.exclude(match_status="MATCHED")}
        assert not {kind for kind in KINDS
                    if any(q == kind[0] and abs(p - kind[1]) <= D("0.01") for q, p in open_kinds)
                    and kind in free_kinds}
        transaction.set_rollback(True)
