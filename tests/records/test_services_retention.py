"""Retention: the purge removes exactly what is past retention, final and not held, and never anything younger."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backoffice.core.exceptions import BusinessRuleError
from records.approvals.models import ChangeRequest
from records.audit.models import AuditBlock, AuditRecord, AuditSeal
from records.audit.services.audit_chain import audit_seal, audit_verify
from records.cash.models import CashBalance, CashMovement
from records.cash.services import cash_movement_create
from records.positions.models import Position, StockMovement
from records.positions.services import stock_movement_create
from records.reference.models import FxRate, Price
from records.reference.services.reference import PriceInput, fx_rate_upsert, price_upsert
from records.retention import services as retention
from records.retention.models import LegalHold, RetentionPolicy
from records.retention.rules import tombstone_verify, years_before
from records.retention.services import (
    legal_hold_place,
    legal_hold_release,
    retention_cutoff,
    tombstone_ids,
)
from records.trades.models import Trade, TradeEvent, TradeVersion
from tests.records.helpers_retention import amend, at, old_audit_records, old_trade, purge, tombstones

pytestmark = pytest.mark.django_db

FINAL = ("SETTLED", "CANCELLED")
OPEN = ("BOOKED", "HELD", "CLEARED", "PARTIALLY_SETTLED", "FAILED")


# Policies and cutoffs ---------------------------------------------------------------------------

def test_default_policies_are_those_of_sec_rule_17a_4():
    years = dict(RetentionPolicy.objects.values_list("record_type", "retention_years"))
    six = ["records.trade", "records.tradeversion", "records.tradeevent", "records.position",
           "records.stockmovement", "records.cashmovement", "records.cashbalance", "records.auditrecord"]
    three = ["records.price", "records.fxrate", "records.changerequest"]
    assert {t: years[t] for t in six} == dict.fromkeys(six, 6)
    assert {t: years[t] for t in three} == dict.fromkeys(three, 3)


def test_cutoff_is_the_same_day_n_years_earlier_and_29_february_becomes_the_28th():
    assert retention_cutoff("records.trade", date(2026, 5, 10)) == date(2020, 5, 10)
    assert retention_cutoff("records.price", date(2026, 5, 10)) == date(2023, 5, 10)
    assert retention_cutoff("records.trade", date(2028, 2, 29)) == date(2022, 2, 28)
    assert retention_cutoff("records.trade", date(2030, 2, 28)) == date(2024, 2, 28)
    assert years_before(date(3, 1, 1), 10) == date.min


def test_a_type_without_a_policy_is_never_purged(firm, today):
    old_trade(firm, today - timedelta(days=9000))
    RetentionPolicy.objects.filter(record_type="records.trade").delete()
    with pytest.raises(BusinessRuleError, match="No retention policy"):
        purge()
    assert Trade.objects.count() == 1


def test_policy_changes_are_audited_and_never_below_the_regulatory_minimum(clerk):
    policy = RetentionPolicy.objects.get(record_type="records.trade")
    with pytest.raises(BusinessRuleError, match="at least 6 years"):
        retention.retention_policy_update(actor=clerk, policy=policy, retention_years=5, reason="cheaper")
    updated = retention.retention_policy_update(actor=clerk, policy=policy, retention_years=7, reason="litigation")
    assert RetentionPolicy.objects.get(record_type="records.trade").retention_years == updated.retention_years == 7
    audit = AuditRecord.objects.get(record_type="records.retentionpolicy", record_id=str(policy.pk))
    assert (audit.action, audit.before["retention_years"], audit.after["retention_years"], audit.reason) == (
        "UPDATE", 6, 7, "litigation")


# Trades -----------------------------------------------------------------------------------------

def test_purge_removes_exactly_the_final_trades_past_six_years_with_their_versions_and_events(firm, today):
    cutoff = years_before(today, 6)
    settled_old = old_trade(firm, cutoff - timedelta(days=10), settle_days=2)
    cancelled_old = old_trade(firm, cutoff - timedelta(days=400), status="CANCELLED")
    amend(cancelled_old, when=at(cutoff - timedelta(days=399)))
    open_old = {status: old_trade(firm, cutoff - timedelta(days=1000), status=status) for status in OPEN}
    settling_on_cutoff = old_trade(firm, cutoff - timedelta(days=2), settle_days=2)  # settled on the cutoff day
    young = old_trade(firm, cutoff + timedelta(days=1))
    purged_ids = {settled_old.pk, cancelled_old.pk}

    result = purge()

    assert (result.purged, result.chunks, result.cutoff) == (2, 1, cutoff)
    assert result.deleted == {"records.trade": 2, "records.tradeversion": 1, "records.tradeevent": 4}
    kept = {settling_on_cutoff.pk, young.pk, *(t.pk for t in open_old.values())}
    assert set(Trade.objects.values_list("id", flat=True)) == kept
    assert not TradeEvent.objects.filter(trade_id__in=purged_ids).exists()
    assert not TradeVersion.objects.filter(trade_id__in=purged_ids).exists()
    assert TradeEvent.objects.filter(trade_id__in=kept).count() == 2 * 2 + len(OPEN)


def test_open_trades_are_never_purged_however_old(firm, today):
    for status in OPEN:
        old_trade(firm, today - timedelta(days=20 * 365), status=status)
    assert purge().purged == 0
    assert Trade.objects.count() == len(OPEN)


def test_a_trade_with_a_version_or_event_younger_than_the_cutoff_is_kept(firm, today):
    cutoff = years_before(today, 6)
    late_amendment = old_trade(firm, cutoff - timedelta(days=30))
    amend(late_amendment, when=at(cutoff))
    late_event = old_trade(firm, cutoff - timedelta(days=30), events=False)
    TradeEvent.objects.create(trade=late_event, at=at(cutoff + timedelta(days=1)), actor_label="ops",
                              action="SETTLE", from_status="FAILED", to_status="SETTLED")
    assert purge().purged == 0
    assert Trade.objects.count() == 2


def test_each_chunk_is_its_own_transaction_with_a_signed_tombstone(firm, today):
    old = [old_trade(firm, years_before(today, 6) - timedelta(days=d)) for d in range(9, 4, -1)]
    result = purge(chunk_size=2)
    assert (result.purged, result.chunks) == (5, 3)
    stones = tombstones("records.trade")
    assert [s.pk for s in stones] == result.tombstone_ids
    assert [s.after["count"] for s in stones] == [2, 2, 1]
    assert [tombstone_ids(s) for s in stones] == [[old[0].pk, old[1].pk], [old[2].pk, old[3].pk], [old[4].pk]]
    first = stones[0]
    assert first.record_id == f"{old[0].pk}-{old[1].pk}"
    assert first.after["ids"] == [[old[0].pk, old[1].pk]]
    assert first.after["ids_sha256"] == retention.ids_digest([old[1].pk, old[0].pk])
    assert first.after["cutoff"] == years_before(today, 6).isoformat()
    assert first.after["policy"]["retention_years"] == 6
    assert first.after["deleted"] == {"records.trade": 2, "records.tradeevent": 4, "records.tradeversion": 0}
    assert first.actor_label == "job:test"
    assert all(tombstone_verify(s) for s in stones)


def test_a_tampered_tombstone_or_another_key_fails_verification(firm, today, settings):
    old_trade(firm, years_before(today, 6) - timedelta(days=5))
    purge()
    stone = tombstones()[0]
    assert tombstone_verify(stone)
    stone.after = {**stone.after, "count": 0}
    assert not tombstone_verify(stone)
    stone.refresh_from_db()
    stone.after = {**stone.after, "signature": "0" * 64}
    assert not tombstone_verify(stone)
    stone.refresh_from_db()
    settings.RECORDS_SIGNING_KEY = "another key"
    assert not tombstone_verify(stone)


def test_a_rerun_purges_nothing_more_and_writes_no_tombstone(firm, today):
    old_trade(firm, years_before(today, 6) - timedelta(days=5))
    assert purge().purged == 1
    again = purge()
    assert (again.purged, again.chunks, again.tombstone_ids) == (0, 0, [])
    assert len(tombstones()) == 1


def test_a_dry_run_counts_and_changes_nothing(firm, today):
    old_trade(firm, years_before(today, 6) - timedelta(days=5))
    old_trade(firm, years_before(today, 6) - timedelta(days=6))
    result = purge(dry_run=True)
    assert (result.purged, result.dry_run, result.tombstone_ids) == (2, True, [])
    assert Trade.objects.count() == 2 and tombstones() == []


@pytest.mark.parametrize("as_of_offset", [1, 365, 6 * 366, 10_000])
def test_an_as_of_in_the_future_purges_nothing_younger_than_today_allows(firm, today, as_of_offset):
    cutoff = years_before(today, 6)
    old_trade(firm, cutoff - timedelta(days=1), settle_days=0)
    young = old_trade(firm, cutoff, settle_days=0)
    result = purge(as_of=today + timedelta(days=as_of_offset))
    assert (result.as_of, result.cutoff, result.purged) == (today, cutoff, 1)
    assert list(Trade.objects.values_list("id", flat=True)) == [young.pk]


def test_an_as_of_in_the_past_only_makes_the_cutoff_earlier(firm, today):
    cutoff = years_before(today, 6)
    older = old_trade(firm, cutoff - timedelta(days=400))
    recent = old_trade(firm, cutoff - timedelta(days=10))
    result = purge(as_of=today - timedelta(days=365))
    assert result.cutoff == years_before(today - timedelta(days=365), 6)
    assert list(Trade.objects.values_list("id", flat=True)) == [recent.pk]
    assert not Trade.objects.filter(pk=older.pk).exists()
    assert purge(as_of=date(1900, 1, 1)).purged == 0


# Legal holds ------------------------------------------------------------------------------------

def test_holds_by_account_instrument_and_record_protect_until_released(firm, today, clerk):
    day = years_before(today, 6) - timedelta(days=5)
    held_by_account = old_trade(firm, day, account="HOUSE", instrument="MSFT")
    held_by_instrument = old_trade(firm, day, account="ACC-001", instrument="SAP")
    held_by_record = old_trade(firm, day, account="ACC-001", instrument="AAPL")
    free = old_trade(firm, day, account="ACC-001", instrument="MSFT")
    holds = [
        legal_hold_place(actor=clerk, scope="ACCOUNT", account=firm["accounts"]["HOUSE"], reason="SEC inquiry",
                         matter="SEC-2026-14"),
        legal_hold_place(actor=clerk, scope="INSTRUMENT", instrument=firm["instruments"]["SAP"], reason="class action"),
        legal_hold_place(actor=clerk, scope="RECORD", record_type="records.trade", record_id=str(held_by_record.pk),
                         reason="complaint 7"),
    ]
    assert purge().purged == 1
    assert not Trade.objects.filter(pk=free.pk).exists()
    assert set(Trade.objects.values_list("id", flat=True)) == {held_by_account.pk, held_by_instrument.pk,
                                                               held_by_record.pk}
    legal_hold_release(actor=clerk, hold_id=holds[1].pk, reason="settled")
    assert purge().purged == 1
    assert not Trade.objects.filter(pk=held_by_instrument.pk).exists()
    assert LegalHold.objects.count() == 3  # released holds are kept


def test_an_account_hold_protects_its_cash_and_stock_movements_too(firm, today, clerk):
    old = years_before(today, 6) - timedelta(days=1)
    house, client = firm["accounts"]["HOUSE"], firm["accounts"]["ACC-001"]
    for account in (house, client):
        cash_movement_create(actor="test", account=account, currency="USD", amount=Decimal("10"), value_date=old,
                             reference=f"C-{account.code}")
        stock_movement_create(actor="test", account=account, instrument=firm["instruments"]["AAPL"],
                              quantity=Decimal("5"), value_date=old, reference=f"S-{account.code}")
    legal_hold_place(actor=clerk, scope="ACCOUNT", account=house, reason="inquiry")
    assert purge("records.cashmovement").purged == 1
    assert purge("records.stockmovement").purged == 1
    assert list(CashMovement.objects.values_list("reference", flat=True)) == ["C-HOUSE"]
    assert list(StockMovement.objects.values_list("reference", flat=True)) == ["S-HOUSE"]


def test_hold_placement_is_validated_and_audited_and_release_keeps_the_row(firm, clerk):
    with pytest.raises(BusinessRuleError, match=r"no records\.trade #999"):
        legal_hold_place(actor=clerk, scope="RECORD", record_type="records.trade", record_id="999", reason="x")
    with pytest.raises(BusinessRuleError, match="Unknown record type"):
        legal_hold_place(actor=clerk, scope="RECORD", record_type="nope.nothing", record_id="1", reason="x")
    with pytest.raises(BusinessRuleError, match="Name the account"):
        legal_hold_place(actor=clerk, scope="ACCOUNT", reason="x")
    with pytest.raises(BusinessRuleError, match="Say why"):
        legal_hold_place(actor=clerk, scope="ACCOUNT", account=firm["accounts"]["HOUSE"], reason=" ")
    with pytest.raises(BusinessRuleError, match="signed-in person"):
        legal_hold_place(actor="job:x", scope="ACCOUNT", account=firm["accounts"]["HOUSE"], reason="x")
    assert LegalHold.objects.count() == 0

    hold = legal_hold_place(actor=clerk, scope="ACCOUNT", account=firm["accounts"]["HOUSE"], reason="inquiry",
                            matter="M-1")
    released = legal_hold_release(actor=clerk, hold_id=hold.pk, reason="closed")
    assert (released.is_active, released.released_by, released.release_reason) == (False, clerk, "closed")
    again = legal_hold_release(actor=clerk, hold_id=hold.pk, reason="twice")
    assert again.release_reason == "closed"
    audit = list(AuditRecord.objects.filter(record_type="records.legalhold").order_by("id")
                 .values_list("action", "actor_label", "reason"))
    assert audit == [("CREATE", "clerk", "inquiry"), ("UPDATE", "clerk", "closed")]


# Property: never anything younger -----------------------------------------------------------------

STATUSES = st.sampled_from(FINAL + OPEN)
TRADES = st.lists(st.tuples(st.integers(0, 4500), STATUSES, st.integers(0, 5), st.sampled_from(["ACC-001", "HOUSE"]),
                            st.sampled_from(["AAPL", "SAP"])), min_size=1, max_size=12)
AS_OF = st.one_of(st.none(), st.integers(-30_000, 30_000))


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(trades=TRADES, years=st.integers(1, 12), as_of_offset=AS_OF, hold_account=st.booleans(),
       hold_instrument=st.booleans(), hold_first=st.booleans(), chunk_size=st.integers(1, 5))
def test_purge_removes_exactly_what_is_past_retention_final_and_unheld_whatever_the_input(
        firm, clerk, today, trades, years, as_of_offset, hold_account, hold_instrument, hold_first, chunk_size):
    savepoint = transaction.savepoint()
    try:
        RetentionPolicy.objects.filter(record_type="records.trade").update(retention_years=years)
        made = [old_trade(firm, today - timedelta(days=age), status=status, settle_days=settle, account=account,
                          instrument=instrument)
                for age, status, settle, account, instrument in trades]
        if hold_account:
            legal_hold_place(actor=clerk, scope="ACCOUNT", account=firm["accounts"]["HOUSE"], reason="p")
        if hold_instrument:
            legal_hold_place(actor=clerk, scope="INSTRUMENT", instrument=firm["instruments"]["SAP"], reason="p")
        if hold_first:
            legal_hold_place(actor=clerk, scope="RECORD", record_type="records.trade", record_id=made[0].pk,
                             reason="p")
        as_of = None if as_of_offset is None else today + timedelta(days=as_of_offset)
        cutoff = years_before(min(as_of or today, today), years)

        result = purge(as_of=as_of, chunk_size=chunk_size)

        def protected(t):
            return ((hold_account and t.account.code == "HOUSE") or (hold_instrument and t.instrument.symbol == "SAP")
                    or (hold_first and t.pk == made[0].pk))
        expected = {t.pk for t in made if t.status in FINAL and t.settlement_date < cutoff and not protected(t)}
        remaining = set(Trade.objects.values_list("id", flat=True))
        assert {t.pk for t in made} - remaining == expected
        assert result.purged == len(expected) == sum(s.after["count"] for s in tombstones())
        never_younger = years_before(today, years)
        assert all(t.trade_date < never_younger for t in made if t.pk in expected)
        assert purge(as_of=as_of).purged == 0
    finally:
        transaction.savepoint_rollback(savepoint)


# Cash, stock, prices, FX, change requests ------------------------------------------------------

def test_purging_cash_movements_leaves_the_balances_as_they_were(firm, today):
    account = firm["accounts"]["ACC-001"]
    old, young = years_before(today, 6) - timedelta(days=1), years_before(today, 6)
    for n, (amount, day) in enumerate([("1000.25", old), ("-200", old), ("50", young), ("7", today)]):
        cash_movement_create(actor="test", account=account, currency="USD", amount=Decimal(amount), value_date=day,
                             reference=f"W-{n}")
    before = list(CashBalance.objects.values_list("account_id", "currency", "balance", "reserved"))
    assert before == [(account.pk, "USD", Decimal("857.25"), Decimal("0"))]
    assert purge("records.cashmovement").purged == 2
    assert list(CashMovement.objects.order_by("reference").values_list("reference", flat=True)) == ["W-2", "W-3"]
    assert list(CashBalance.objects.values_list("account_id", "currency", "balance", "reserved")) == before


def test_purging_stock_movements_leaves_positions_as_they_were(firm, today):
    account, apple = firm["accounts"]["HOUSE"], firm["instruments"]["AAPL"]
    stock_movement_create(actor="test", account=account, instrument=apple, quantity=Decimal("100"),
                          value_date=years_before(today, 6) - timedelta(days=1), reference="S-1")
    stock_movement_create(actor="test", account=account, instrument=apple, quantity=Decimal("5"),
                          value_date=today, reference="S-2")
    before = list(Position.objects.values_list("traded_quantity", "settled_quantity"))
    assert purge("records.stockmovement").purged == 1
    assert list(StockMovement.objects.values_list("reference", flat=True)) == ["S-2"]
    assert list(Position.objects.values_list("traded_quantity", "settled_quantity")) == before == [
        (Decimal("105"), Decimal("105"))]


def test_prices_and_fx_rates_are_kept_three_years_and_an_instrument_hold_keeps_its_prices(firm, today, clerk):
    cutoff = years_before(today, 3)
    for symbol in ("AAPL", "SAP"):
        instrument = firm["instruments"][symbol]
        price_upsert(actor="test", prices=[
            PriceInput(instrument=instrument, price_date=day, price=Decimal("10"), currency=instrument.currency,
                       source="S")
            for day in (cutoff - timedelta(days=1), cutoff)])
    for day in (cutoff - timedelta(days=1), cutoff):
        with transaction.atomic():
            fx_rate_upsert(actor="test", base_currency="EUR", quote_currency="USD", rate_date=day, rate=Decimal("1.1"))
    legal_hold_place(actor=clerk, scope="INSTRUMENT", instrument=firm["instruments"]["SAP"], reason="inquiry")
    assert purge("records.price").purged == 1
    assert purge("records.fxrate").purged == 1
    assert sorted(Price.objects.values_list("instrument__symbol", "price_date")) == [
        ("AAPL", cutoff), ("SAP", cutoff - timedelta(days=1)), ("SAP", cutoff)]
    assert list(FxRate.objects.values_list("rate_date", flat=True)) == [cutoff]


def test_only_decided_change_requests_past_three_years_are_purged(firm, today, clerk):
    maker = firm["user"]
    long_ago = at(years_before(today, 3) - timedelta(days=1))

    def request(status, decided_at):
        return ChangeRequest.objects.create(kind="account.update", summary="s", payload={}, reason="r", status=status,
                                            proposed_by=maker, proposed_at=long_ago,
                                            decided_by=clerk if decided_at else None, decided_at=decided_at)
    approved = request("APPROVED", long_ago)
    pending = request("PENDING", None)
    recent = request("REJECTED", at(years_before(today, 3)))
    assert purge("records.changerequest").purged == 1
    assert not ChangeRequest.objects.filter(pk=approved.pk).exists()
    assert set(ChangeRequest.objects.values_list("id", flat=True)) == {pending.pk, recent.pk}


# The audit trail --------------------------------------------------------------------------------

def test_audit_records_are_purged_a_whole_sealed_block_at_a_time_and_the_chain_still_verifies(firm, today, clerk):
    audit_seal()  # the fixtures' records: a young block
    long_ago = at(years_before(today, 6) - timedelta(days=1))
    old_block_ids = old_audit_records(long_ago, n=4)
    [old_block] = audit_seal()
    mixed_ids = old_audit_records(long_ago, n=2) + old_audit_records(timezone.now(), n=1)
    [mixed_block] = audit_seal()
    held_trade = old_trade(firm, today)
    held_ids = old_audit_records(long_ago, record_type="records.trade", record_ids=[held_trade.pk])
    legal_hold_place(actor=clerk, scope="RECORD", record_type="records.trade", record_id=held_trade.pk, reason="x")
    [held_block] = audit_seal()
    unsealed_ids = old_audit_records(long_ago, n=2)

    result = purge("records.auditrecord")

    assert (result.purged, result.chunks) == (4, 1)
    assert not AuditRecord.objects.filter(pk__in=old_block_ids).exists()
    assert not AuditSeal.objects.filter(block=old_block).exists()
    assert AuditRecord.objects.filter(pk__in=mixed_ids + held_ids + unsealed_ids).count() == 6
    assert list(AuditBlock.objects.filter(pruned_at__isnull=False).values_list("id", flat=True)) == [old_block.pk]
    assert {mixed_block.pk, held_block.pk}.isdisjoint(
        AuditBlock.objects.filter(pruned_at__isnull=False).values_list("id", flat=True))
    [stone] = tombstones("records.auditrecord")
    assert tombstone_verify(stone) and tombstone_ids(stone) == old_block_ids
    assert (stone.after["block_id"], stone.after["block_hash"]) == (old_block.pk, old_block.hash)
    audit_seal()
    verified = audit_verify()
    assert verified.ok, verified.as_dict()
    assert purge("records.auditrecord").purged == 0


def test_the_database_refuses_deleting_audit_records_outside_the_purge(firm):
    audit_seal()
    record = AuditRecord.objects.order_by("id").first()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM records_auditrecord WHERE id = %s", [record.pk])
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE records_auditblock SET pruned_at = now()")
    with pytest.raises(PermissionError):
        AuditRecord.objects.filter(pk=record.pk).delete()
