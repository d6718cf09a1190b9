"""Invariants of trade capture: idempotency under concurrency; positions equal the sum of their trades."""

import itertools
import threading
from decimal import Decimal

import pytest
from django.db import connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backoffice.core.exceptions import BusinessRuleError
from records.positions.models import Position
from records.trades import services as svc
from records.trades.models import Trade, TradeEvent
from tests.conftest import APPLE, MICROSOFT, make_user
from tests.records.helpers_trades import assert_positions_equal_sum_of_trades, trade_input

D = Decimal


@pytest.mark.django_db(transaction=True)
def test_twenty_identical_submissions_at_once_book_exactly_one_trade(instruments, accounts, counterparties):
    user = make_user("oms", "front_office")
    barrier = threading.Barrier(20)
    outcomes, errors = [], []

    def submit():
        try:
            barrier.wait(timeout=10)
            outcomes.append(svc.trade_submit(submitted_by=user, item=trade_input()).status)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert sorted(outcomes) == ["created"] + ["duplicate"] * 19
    assert Trade.objects.count() == 1
    assert TradeEvent.objects.count() == 1
    assert Position.objects.get().traded_quantity == 100


@pytest.mark.django_db(transaction=True)
def test_concurrent_bulk_batches_on_the_same_positions_neither_deadlock_nor_lose_updates(
        instruments, accounts, counterparties):
    users = [make_user(f"oms{n}", "front_office") for n in range(4)]
    barrier = threading.Barrier(4)
    errors = []

    def submit(user, n):
        try:
            items = [(i, trade_input(f"R-{i}", instrument=APPLE if (i + n) % 2 else MICROSOFT,
                                     account="ACC-001" if i % 3 else "HOUSE", quantity=D(i + 1)))
                     for i in range(300)]
            barrier.wait(timeout=10)
            svc.trade_submit_batch(submitted_by=user, items=items)
        except Exception as exc:  # pragma: no cover
            errors.append(repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit, args=(u, n)) for n, u in enumerate(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert Trade.objects.count() == 1200
    assert_positions_equal_sum_of_trades()


_runs = itertools.count()

operations = st.lists(
    st.one_of(
        st.tuples(st.just("book"), st.sampled_from(["BUY", "SELL"]), st.integers(1, 10_000),
                  st.sampled_from([APPLE, MICROSOFT]), st.sampled_from(["ACC-001", "HOUSE"])),
        st.tuples(st.just("amend"), st.integers(0, 30), st.integers(1, 10_000)),
        st.tuples(st.just("cancel"), st.integers(0, 30)),
        st.tuples(st.just("bulk"), st.lists(st.tuples(st.sampled_from(["BUY", "SELL"]), st.integers(1, 500)),
                                            min_size=1, max_size=8)),
    ),
    min_size=1, max_size=25,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations)
@pytest.mark.django_db
def test_positions_always_equal_the_sum_of_their_trades(instruments, accounts, counterparties, ops):
    run = next(_runs)
    user = make_user(f"h{run}", "front_office")
    booked: list[int] = []
    for n, op in enumerate(ops):
        if op[0] == "book":
            _, side, qty, isin, account = op
            result = svc.trade_submit(submitted_by=user, item=trade_input(
                f"P-{run}-{n}", side=side, quantity=D(qty), instrument=isin, account=account))
            booked.append(result.trade_id)
        elif op[0] == "bulk":
            items = [(i, trade_input(f"B-{run}-{n}-{i}", side=side, quantity=D(q)))
                     for i, (side, q) in enumerate(op[1])]
            booked += [r.trade_id for r in svc.trade_submit_batch(submitted_by=user, items=items).values()]
        elif booked:
            trade_id = booked[op[1] % len(booked)]
            try:
                if op[0] == "amend":
                    svc.trade_amend(actor=user, trade_id=trade_id, changes={"quantity": D(op[2])}, reason="t")
                else:
                    svc.trade_cancel(actor=user, trade_id=trade_id, reason="t")
            except BusinessRuleError:
                pass  # amending a cancelled trade or changing nothing is refused and changes nothing
        assert_positions_equal_sum_of_trades()
