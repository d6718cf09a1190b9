"""Bulk booking writes a trade from one declaration, TradeRow: the insert's columns, the audit record's
`after` and the in-memory Trade all derive from it. Held to the model: every column declared, and
the audit copy of each booked trade equal, field for field, to the model's own snapshot of it."""

import datetime as dt
from decimal import Decimal

import pytest

from backoffice.core.bulk import COPY_THRESHOLD
from records.audit.models import AuditRecord
from records.audit.services.audit import content_hash, snapshot
from records.trades import services as svc
from records.trades.api.serializers import AmendInput
from records.trades.models import Trade, TradeVersion
from tests.conftest import SAP, make_user
from tests.records.helpers_trades import trade_input

pytestmark = pytest.mark.django_db


def test_the_trade_row_declares_exactly_the_columns_of_the_trade_table():
    assert svc.TradeRow._fields == tuple(f.column for f in Trade._meta.concrete_fields)


def test_what_an_amendment_may_change_is_kept_per_version_and_taken_by_the_api():
    version_fields = {f.name for f in TradeVersion._meta.concrete_fields}
    assert set(Trade.AMENDABLE_FIELDS) <= version_fields
    assert set(Trade.AMENDABLE_FIELDS) == set(AmendInput().fields) - {"reason"}


# Every shape of a submission: commission, settlement date and currency given or not, text that JSON
# must escape, decimals with trailing zeros, a sale, another market, and a notional the checks hold.
VARIANTS = [
    {},
    {"commission": Decimal("5.00"), "currency": "USD"},
    {"settlement_date": dt.date(2026, 11, 24)},
    {"commission": Decimal("0.0001"), "settlement_date": dt.date(2026, 11, 23), "currency": "USD",
     "side": "SELL", "quantity": Decimal("12.500000"), "price": Decimal("0.00000001")},
    {"external_ref": 'quote " back\\slash Ü 日本 \u2028'},
    {"instrument": SAP, "currency": "EUR", "trade_date": dt.date(2026, 11, 18), "account": "HOUSE"},
    {"quantity": Decimal("300000"), "price": Decimal("200")},  # 60m notional: HELD
    {"quantity": Decimal("300000"), "price": Decimal("200"), "commission": Decimal("12.34"),
     "settlement_date": dt.date(2026, 11, 25), "currency": "USD"},
]


def book(user, count, prefix):
    items = []
    for n in range(count):
        overrides = dict(VARIANTS[n % len(VARIANTS)])
        ref = overrides.pop("external_ref", "") + f"{prefix}-{n}"
        items.append((n, trade_input(ref, **overrides)))
    results = svc.trade_submit_batch(submitted_by=user, items=items)
    assert {r.status for r in results.values()} == {svc.CREATED}, [r.errors for r in results.values()]
    return results


@pytest.mark.parametrize("count", [1, len(VARIANTS), COPY_THRESHOLD + 3], ids=["single", "small-batch", "copy"])
def test_the_audit_copy_of_each_booked_trade_is_the_snapshot_of_the_stored_trade(instruments, accounts,
                                                                                 counterparties, in_request, count):
    user = make_user("oms", "front_office")
    results = book(user, count, f"ROW{count}")

    stored = Trade.objects.in_bulk([r.trade_id for r in results.values()])
    audits = {int(a.record_id): a for a in AuditRecord.objects.filter(record_type="records.trade", action="CREATE")}
    assert set(audits) == set(stored)
    assert {t.status for t in stored.values()} == ({"BOOKED"} if count == 1 else {"BOOKED", "HELD"})
    for trade_id, trade in stored.items():
        # Every field of the model, not a chosen few: a column added to the model and missed here fails.
        assert audits[trade_id].after == snapshot(trade)
        # The hash written with the row verifies against the record as stored.
        assert content_hash(audits[trade_id]) == audits[trade_id].content_hash


def test_the_trade_built_in_memory_is_the_stored_trade(instruments, accounts, counterparties, in_request):
    user = make_user("oms", "front_office")
    results = book(user, len(VARIANTS), "MEM")
    for result in results.values():
        in_memory, stored = result.trade, Trade.objects.get(pk=result.trade_id)
        for f in Trade._meta.concrete_fields:
            assert getattr(in_memory, f.attname) == getattr(stored, f.attname), f.name
        assert snapshot(in_memory) == snapshot(stored)
        assert (in_memory.account, in_memory.counterparty, in_memory.instrument) == (
            stored.account, stored.counterparty, stored.instrument)
