"""Records of known ages for the retention and export tests, written straight to the tables, and the
retention tests' fixtures (offered to every test module here by tests/records/conftest.py).

Trades are inserted as they would stand years later (settled, cancelled...), since trade capture
books only today's trades; audit records with a past time are inserted with their content hash,
as audit_log_bulk writes them.
"""

import itertools
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from backoffice.core.bulk import insert_rows
from records.audit.models import AuditRecord
from records.audit.services.audit import AUDIT_COLUMNS, hash_fields
from records.retention.services import purge_run
from records.trades.models import Trade, TradeEvent, TradeVersion
from tests.conftest import make_user

_refs = itertools.count(1)


def at(day: date, hour: int = 12) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour)))


def trade(*, user, account, instrument, counterparty, trade_date: date, status: str = "SETTLED",
          settle_days: int = 2, events: bool = True, external_ref: str | None = None, side: str = "BUY",
          quantity: str = "100", price: str = "189.25", commission: str = "5") -> Trade:
    """A trade of trade_date in `status`, with its booking event (and a settle or cancel event)."""
    settlement_date = trade_date + timedelta(days=settle_days)
    made = Trade.objects.create(
        external_ref=external_ref or f"OLD-{next(_refs)}", submitted_by=user, account=account,
        counterparty=counterparty, instrument=instrument, side=side, quantity=Decimal(quantity),
        price=Decimal(price), currency=instrument.currency, trade_date=trade_date, settlement_date=settlement_date,
        commission=Decimal(commission), status=status, request_hash="0" * 64,
        settled_quantity=Decimal(quantity) if status == "SETTLED" else Decimal(0))
    if events:
        TradeEvent.objects.create(trade=made, at=at(trade_date, 9), actor_label="test", action="BOOK",
                                  to_status="BOOKED")
        if status == "SETTLED":
            TradeEvent.objects.create(trade=made, at=at(settlement_date, 18), actor_label="test", action="SETTLE",
                                      from_status="CLEARED", to_status="SETTLED")
        elif status == "CANCELLED":
            TradeEvent.objects.create(trade=made, at=at(trade_date, 15), actor_label="test", action="CANCEL",
                                      from_status="BOOKED", to_status="CANCELLED")
    return made


def amend(made: Trade, *, when: datetime) -> TradeVersion:
    """Keep version 1 of the trade as if it was amended at `when`."""
    return TradeVersion.objects.create(trade=made, version=1, quantity=made.quantity, price=made.price,
                                       settlement_date=made.settlement_date, commission=made.commission,
                                       status="BOOKED", superseded_at=when, reason="amended")


def old_audit_records(when: datetime, *, n: int = 3, record_type: str = "records.position", record_ids=None) -> list:
    """Insert n audit records dated `when` (with correct content hashes); return their ids."""
    ids = list(record_ids) if record_ids is not None else list(range(n))
    rows = []
    for record_id in ids:
        fields = (when, None, "job:old", "UPDATE", record_type, str(record_id), None, {"q": "1"}, "long ago", "")
        rows.append((*fields[:6], None, '{"q": "1"}', *fields[8:], hash_fields(*fields)))
    with transaction.atomic():
        before = set(AuditRecord.objects.values_list("id", flat=True))
        insert_rows(AuditRecord, AUDIT_COLUMNS, rows)
        return sorted(set(AuditRecord.objects.values_list("id", flat=True)) - before)


# The retention tests' firm, and what they do with it ---------------------------------------------

@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def firm(instruments, accounts, counterparties):
    """Who books the old trades, and in which accounts and instruments."""
    user = make_user("oms")
    return {"user": user, "accounts": accounts, "instruments": instruments, "counterparty": counterparties["BRKR-A"]}


@pytest.fixture
def clerk(db):
    return make_user("clerk", "compliance")


def old_trade(firm, trade_date, *, account="ACC-001", instrument="AAPL", **kwargs):
    return trade(user=firm["user"], account=firm["accounts"][account], instrument=firm["instruments"][instrument],
                 counterparty=firm["counterparty"], trade_date=trade_date, **kwargs)


def purge(record_type="records.trade", **kwargs):
    with transaction.atomic():  # the test's own savepoint: purge_run opens one per chunk inside it
        return purge_run(actor="job:test", record_type=record_type, **kwargs)


def tombstones(record_type=None):
    found = AuditRecord.objects.filter(action="PURGE").order_by("id")
    return list(found.filter(record_type=record_type) if record_type else found)
