# ruff: noqa: F811 - the fixtures imported from helpers_matching are parameters of the tests
"""Confirmation matching (clearing.matching.services): what matches, what breaks and how, retries, the job.

Every state is asserted exactly: the confirmation's status, trade and mismatches, the trade's match
status, its MATCH event and the audit records.
"""

import io
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext, override_settings

from backoffice.core.exceptions import BusinessRuleError, ConflictError, ForbiddenError
from backoffice.core.jobs.models import JobRun
from backoffice.core.jobs.services import job_create, job_run_execute
from clearing.matching.jobs import MATCHING, id_ranges
from clearing.matching.services import breaks, tolerances
from clearing.matching.services import confirmations as services
from clearing.matching.services.matching import (
    confirmations_match_range,
    matching_on_trades,
    price_within_tolerance,
)
from clearing.models import Confirmation, MatchTolerance
from records.approvals import services as approvals
from records.audit.models import AuditRecord
from records.trades import services as trade_services
from records.trades.models import Trade, TradeEvent
from records.trades.services import TradeInput
from tests.clearing.helpers_matching import APPLE, MICROSOFT, SETTLES, TRADE_DATE, firm  # noqa: F401

pytestmark = pytest.mark.django_db
D = Decimal


def state(confirmation: Confirmation) -> tuple:
    confirmation.refresh_from_db()
    return confirmation.match_status, confirmation.trade_id, confirmation.mismatches


def trade_status(trade: Trade) -> str:
    return Trade.objects.get(pk=trade.pk).match_status


# What matches -------------------------------------------------------------------------------------

def test_a_confirmation_of_a_booked_trade_matches_it_affirms_it_and_leaves_an_audit_trail(firm):
    trade = firm.trade("OMS-1")
    last_audit = AuditRecord.objects.order_by("-id").values_list("id", flat=True).first()
    confirmation = firm.mirror_of(trade)
    assert state(confirmation) == ("MATCHED", trade.pk, [])
    assert confirmation.matched_at is not None
    assert trade_status(trade) == "MATCHED"
    event = TradeEvent.objects.get(trade=trade, action="MATCH")
    assert (event.from_status, event.to_status, event.actor_label, event.reason) == (
        "BOOKED", "BOOKED", "broker-a", f"Confirmation BRKR-A C-1 (#{confirmation.pk})")
    trail = list(AuditRecord.objects.filter(id__gt=last_audit).order_by("id")
                 .values_list("record_type", "action", "record_id", "reason"))
    assert trail == [
        ("clearing.confirmation", "CREATE", str(confirmation.pk), ""),
        ("clearing.confirmation", "UPDATE", str(confirmation.pk), "matching: confirmations received"),
        ("records.trade", "TRANSITION", str(trade.pk), "matching: confirmations received"),
    ]
    update = AuditRecord.objects.get(record_type="clearing.confirmation", action="UPDATE")
    assert (update.before["match_status"], update.after["match_status"], update.after["trade_id"]) == (
        "UNMATCHED", "MATCHED", trade.pk)
    assert AuditRecord.objects.get(record_type="records.trade", action="TRANSITION", record_id=str(trade.pk)).after \
        == {"match_status": "MATCHED"}


def test_a_trade_booked_after_its_confirmation_is_matched_by_the_trade_hook(firm):
    confirmation = firm.confirm("C-1")
    assert state(confirmation) == ("UNMATCHED", None, [])
    trade = firm.trade("OMS-1")
    assert state(confirmation) == ("MATCHED", trade.pk, [])
    assert trade_status(trade) == "MATCHED"
    assert TradeEvent.objects.get(trade=trade, action="MATCH").actor_label == "oms"


def test_the_sides_mirror_their_buy_is_our_sell(firm):
    sell = firm.trade("OMS-1", side="SELL")
    assert state(firm.confirm("C-1", side="BUY")) == ("MATCHED", sell.pk, [])


def test_a_confirmation_on_our_side_is_mismatched_on_side(firm):
    trade = firm.trade("OMS-1", side="BUY")
    confirmation = firm.confirm("C-1", side="BUY")
    assert state(confirmation) == ("MISMATCHED", trade.pk, [{"field": "side", "ours": "BUY", "theirs": "BUY"}])
    assert trade_status(trade) == "MISMATCHED"


@pytest.mark.parametrize(("theirs", "matches"), [
    ("100", True), ("100.01", True), ("99.99", True),  # equities: 1 bp of our 100 = 0.01
    ("100.01000001", False), ("99.98999999", False), ("100.02", False),
])
def test_the_price_matches_within_one_basis_point_of_our_price_for_equities(firm, theirs, matches):
    trade = firm.trade("OMS-1", price="100")
    confirmation = firm.confirm("C-1", price=theirs)
    expected = ("MATCHED", trade.pk, []) if matches else (
        "MISMATCHED", trade.pk, [{"field": "price", "ours": "100", "theirs": theirs}])
    assert state(confirmation) == expected


def test_an_asset_class_without_a_tolerance_matches_on_the_exact_price_only(firm):
    MatchTolerance.objects.filter(asset_class="EQUITY").delete()
    trade = firm.trade("OMS-1", price="100")
    assert state(firm.confirm("C-1", price="100.01"))[0] == "MISMATCHED"
    assert state(firm.confirm("C-2", price="100"))[0:2] == ("MATCHED", trade.pk)


def test_price_tolerance_is_computed_exactly():
    # 0.0001 bp of the largest price a trade holds is 99,999,999.9999999999999999.
    ours = D("9999999999999999.99999999")
    assert price_within_tolerance(ours=ours, theirs=ours - D("99999999.99999999"), tolerance_bps=D("0.0001"))
    assert not price_within_tolerance(ours=ours, theirs=ours - D("100000000"), tolerance_bps=D("0.0001"))
    assert price_within_tolerance(ours=D("189.25"), theirs=D("189.25"), tolerance_bps=D(0))
    assert not price_within_tolerance(ours=D("189.25"), theirs=D("189.25000001"), tolerance_bps=D(0))


def test_every_differing_field_is_listed_with_both_values(firm):
    trade = firm.trade("OMS-1", quantity="100", price="189.25")
    confirmation = firm.confirm("C-1", quantity="90", price="190", settlement_date=date(2026, 11, 24))
    assert state(confirmation) == ("MISMATCHED", trade.pk, [
        {"field": "quantity", "ours": "100", "theirs": "90"},
        {"field": "price", "ours": "189.25", "theirs": "190"},
        {"field": "settlement_date", "ours": "2026-11-23", "theirs": "2026-11-24"},
    ])


def test_the_closest_candidate_is_the_one_differing_on_fewest_fields(firm):
    firm.trade("OMS-1", quantity="50", price="180")
    close = firm.trade("OMS-2", quantity="100", price="180")
    confirmation = firm.confirm("C-1", quantity="100", price="189.25")
    assert state(confirmation) == ("MISMATCHED", close.pk, [{"field": "price", "ours": "180", "theirs": "189.25"}])


def test_without_a_trade_of_the_same_counterparty_account_instrument_and_date_it_stays_unmatched(firm):
    firm.trade("OMS-1", instrument=MICROSOFT)
    firm.trade("OMS-2", account="HOUSE")
    firm.trade("OMS-3", trade_date=date(2026, 11, 19))
    confirmation = firm.confirm("C-1")
    assert state(confirmation) == ("UNMATCHED", None, [])


def test_identical_duplicates_pair_one_to_one(firm):
    trades = [firm.trade(f"OMS-{n}") for n in range(3)]
    confirmations = [firm.confirm(f"C-{n}") for n in range(2)]
    assert [state(c)[:2] for c in confirmations] == [("MATCHED", trades[0].pk), ("MATCHED", trades[1].pk)]
    assert [trade_status(t) for t in trades] == ["MATCHED", "MATCHED", "UNMATCHED"]
    # The third confirmation takes the last trade; a fourth finds none free.
    assert state(firm.confirm("C-2"))[:2] == ("MATCHED", trades[2].pk)
    assert state(firm.confirm("C-3")) == ("UNMATCHED", None, [])


def test_a_batch_pairs_by_price_as_many_as_the_tolerance_allows(firm):
    # Ours 100.00 and 100.015; theirs 100.01 and 100.02 (1 bp of 100 = 0.01): pairing the two lowest
    # and the two highest matches both, where 100.01 -> 100.015 would leave 100.02 without a trade.
    low, high = firm.trade("OMS-1", price="100"), firm.trade("OMS-2", price="100.015")
    results = services.confirmation_submit_batch(submitted_by=firm.broker, items=[
        (0, firm.item("C-HIGH", price="100.02")), (1, firm.item("C-LOW", price="100.01"))])
    assert {results[0].match_status, results[1].match_status} == {"MATCHED"}
    assert (results[0].trade_id, results[1].trade_id) == (high.pk, low.pk)


def test_a_confirmation_quoting_our_reference_matches_only_that_trade(firm):
    first, second = firm.trade("OMS-1"), firm.trade("OMS-2")
    confirmation = firm.confirm("C-1", trade_ref="OMS-2")
    assert state(confirmation) == ("MATCHED", second.pk, [])
    assert trade_status(first) == "UNMATCHED"


def test_a_confirmation_quoting_our_reference_is_compared_with_that_trade_whatever_its_terms(firm):
    trade = firm.trade("OMS-1", account="HOUSE", quantity="100")
    confirmation = firm.confirm("C-1", account="ACC-001", quantity="10", trade_ref="OMS-1")
    assert state(confirmation) == ("MISMATCHED", trade.pk, [{"field": "account", "ours": "HOUSE", "theirs": "ACC-001"},
                                                            {"field": "quantity", "ours": "100", "theirs": "10"}])


def test_cancelled_and_matched_trades_are_no_candidates(firm):
    cancelled = firm.trade("OMS-1")
    trade_services.trade_cancel(actor=firm.oms, trade_id=cancelled.pk, reason="booked twice")
    assert state(firm.confirm("C-1")) == ("UNMATCHED", None, [])
    matched = firm.trade("OMS-2")
    c1 = Confirmation.objects.get(counterparty_ref="C-1")
    assert state(c1)[:2] == ("MATCHED", matched.pk)
    assert state(firm.confirm("C-2", quantity="99")) == ("UNMATCHED", None, [])


def test_the_unique_constraint_is_the_last_guard_a_refused_pass_writes_nothing(firm):
    trade = firm.trade("OMS-1")
    first = firm.mirror_of(trade, "C-1")
    # A trade whose match status was left behind looks free: a second confirmation is paired with it, and
    # the constraint "one MATCHED confirmation per trade" refuses the write. The pass writes nothing.
    Trade.objects.filter(pk=trade.pk).update(match_status="UNMATCHED")
    last = AuditRecord.objects.order_by("-id").values_list("id", flat=True).first()
    second = firm.confirm("C-2")
    assert (state(first)[:2], state(second)) == (("MATCHED", trade.pk), ("UNMATCHED", None, []))
    assert list(AuditRecord.objects.filter(id__gt=last).values_list("record_type", "action")) == [
        ("clearing.confirmation", "CREATE")]


# Changes to trades ---------------------------------------------------------------------------------

def test_an_amended_trade_that_no_longer_agrees_breaks_its_match_and_agrees_again_when_amended_back(firm):
    trade = firm.trade("OMS-1")
    confirmation = firm.mirror_of(trade)
    trade_services.trade_amend(actor=firm.oms, trade_id=trade.pk, changes={"quantity": D("120")}, reason="fill")
    assert state(confirmation) == ("MISMATCHED", trade.pk, [{"field": "quantity", "ours": "120", "theirs": "100"}])
    assert confirmation.matched_at is None
    assert trade_status(trade) == "MISMATCHED"
    trade_services.trade_amend(actor=firm.oms, trade_id=trade.pk, changes={"quantity": D("100")}, reason="undo")
    assert state(confirmation) == ("MATCHED", trade.pk, [])
    assert trade_status(trade) == "MATCHED"
    assert TradeEvent.objects.filter(trade=trade, action="MATCH").count() == 2


def test_an_amendment_that_keeps_the_terms_agreeing_keeps_the_match(firm):
    trade = firm.trade("OMS-1")
    confirmation = firm.mirror_of(trade)
    matched_at = confirmation.matched_at
    trade_services.trade_amend(actor=firm.oms, trade_id=trade.pk, changes={"commission": D("12")}, reason="fee")
    assert state(confirmation) == ("MATCHED", trade.pk, [])
    assert confirmation.matched_at == matched_at
    assert TradeEvent.objects.filter(trade=trade, action="MATCH").count() == 1


def test_an_amendment_that_makes_a_trade_agree_matches_its_mismatched_confirmation(firm):
    trade = firm.trade("OMS-1", price="189")
    confirmation = firm.confirm("C-1", price="189.25")
    assert state(confirmation)[0] == "MISMATCHED"
    trade_services.trade_amend(actor=firm.oms, trade_id=trade.pk, changes={"price": D("189.25")}, reason="price")
    assert state(confirmation) == ("MATCHED", trade.pk, [])


def test_a_cancelled_trade_releases_its_confirmation_which_matches_an_identical_trade_if_there_is_one(firm):
    trade = firm.trade("OMS-1")
    confirmation = firm.mirror_of(trade)
    trade_services.trade_cancel(actor=firm.oms, trade_id=trade.pk, reason="wrong account")
    assert state(confirmation) == ("UNMATCHED", None, [])
    assert trade_status(trade) == "UNMATCHED"
    again = firm.trade("OMS-2")
    assert state(confirmation) == ("MATCHED", again.pk, [])
    # With the twin already there, the release rematches at once.
    twin = firm.trade("OMS-3")
    trade_services.trade_cancel(actor=firm.oms, trade_id=again.pk, reason="duplicate")
    assert state(confirmation) == ("MATCHED", twin.pk, [])


def test_a_held_trade_is_a_candidate_and_its_release_keeps_the_match(firm):
    trade = firm.trade("OMS-1", quantity="300000")  # over the hold notional: HELD
    assert trade.status == "HELD"
    confirmation = firm.mirror_of(trade)
    assert state(confirmation)[:2] == ("MATCHED", trade.pk)
    trade_services.trade_release(actor=firm.clerk, trade_id=trade.pk, reason="limit raised")
    assert state(confirmation)[:2] == ("MATCHED", trade.pk)
    assert trade_status(trade) == "MATCHED"


# Receiving confirmations -----------------------------------------------------------------------------

def test_the_same_reference_again_is_a_duplicate_and_other_terms_a_conflict_inside_a_batch_too(firm):
    first = firm.confirm("C-1")
    results = services.confirmation_submit_batch(submitted_by=firm.broker, items=[
        (0, firm.item("C-1")), (1, firm.item("C-1", quantity="5")), (2, firm.item("C-2")), (3, firm.item("C-2")),
        (4, firm.item("C-2", price="1"))])
    assert [(r.status, r.confirmation_id) for r in (results[n] for n in range(5))] == [
        ("duplicate", first.pk), ("conflict", None), ("created", results[2].confirmation_id),
        ("duplicate", results[2].confirmation_id), ("conflict", None)]
    assert Confirmation.objects.count() == 2


def test_a_reference_is_per_counterparty(firm):
    from records.reference.services import reference

    with transaction.atomic():
        reference.counterparty_create(actor="test", code="BRKR-B", name="Broker B", lei="529900T8BM49AURSDO55")
    firm.confirm("C-1")
    assert firm.confirm("C-1", counterparty="BRKR-B").counterparty.code == "BRKR-B"


def test_rejected_items_write_nothing(firm):
    last = AuditRecord.objects.order_by("-id").values_list("id", flat=True).first()
    results = services.confirmation_submit_batch(submitted_by=firm.broker, items=[
        (0, firm.item("C-1", counterparty="NOBODY")), (1, firm.item("C-2", instrument="US0000000000")),
        (2, firm.item("C-3", account="NOPE", trade_ref="OMS-404"))])
    assert [results[n].errors for n in range(3)] == [
        {"counterparty": ["Unknown counterparty 'NOBODY'."]},
        {"instrument": ["Unknown instrument 'US0000000000'."]},
        {"account": ["Unknown account 'NOPE'."], "trade_ref": ["No trade 'OMS-404' with counterparty BRKR-A."]}]
    assert not Confirmation.objects.exists()
    assert not AuditRecord.objects.filter(id__gt=last).exists()


def test_a_batch_costs_the_same_statements_whatever_its_size(firm):
    for n in range(100):
        firm.trade(f"OMS-{n}", quantity=str(100 + n))
    taken = iter(range(100))

    def submit(count: int) -> int:
        items = [(n, firm.item(f"C-{n}-{count}", quantity=str(100 + next(taken)))) for n in range(count)]
        with CaptureQueriesContext(connection) as queries:
            results = services.confirmation_submit_batch(submitted_by=firm.broker, items=items)
        assert {r.match_status for r in results.values()} == {"MATCHED"}
        return len(queries)

    # Under 50 items the ids come with the look-up and the rows go in one INSERT (from 50, by COPY).
    assert submit(2) == submit(45)
def test_the_trade_hook_costs_two_statements_a_batch_when_no_confirmation_waits(firm):
    firm.confirm("C-OTHER", instrument=MICROSOFT)  # open, but not in these trades' key
    items = [(n, TradeInput(external_ref=f"OMS-{n}", account="ACC-001", counterparty="BRKR-A", instrument=APPLE,
                            side="BUY", quantity=D(10 + n), price=D("189.25"), trade_date=TRADE_DATE))
             for n in range(200)]

    def booked(prefix: str, hooks: list[str]) -> int:
        batch = [(n, TradeInput(**{**item.__dict__, "external_ref": f"{prefix}{item.external_ref}"}))
                 for n, item in items]
        with override_settings(TRADE_HOOKS=hooks), CaptureQueriesContext(connection) as queries:
            trade_services.trade_submit_batch(submitted_by=firm.oms, items=batch)
        return len(queries)

    without = booked("A-", [])
    with_hook = booked("B-", ["clearing.matching.services.matching.matching_on_trades"])
    assert with_hook - without == 2
    assert Confirmation.objects.get(counterparty_ref="C-OTHER").match_status == "UNMATCHED"


def test_the_hook_looks_only_at_the_trades_it_is_given_in_a_range_or_not(firm):
    instruments = [APPLE, MICROSOFT, APPLE]  # the middle one in a group of its own
    confirmations = [firm.confirm(f"C-{n}", quantity=str(10 * (n + 1)), instrument=instruments[n]) for n in range(3)]
    with override_settings(TRADE_HOOKS=[]):
        trades = [firm.trade(f"OMS-{n}", quantity=str(10 * (n + 1)), instrument=instruments[n]) for n in range(3)]
    with transaction.atomic():
        matching_on_trades(trade_ids=[trades[0].pk, trades[2].pk], event="booked", actor=firm.oms)  # not a range
    assert [state(c)[:2] for c in confirmations] == [
        ("MATCHED", trades[0].pk), ("UNMATCHED", None), ("MATCHED", trades[2].pk)]
    with transaction.atomic():
        matching_on_trades(trade_ids=[trades[1].pk], event="booked", actor=firm.oms)  # a range of one
    assert state(confirmations[1])[:2] == ("MATCHED", trades[1].pk)


# Breaks ---------------------------------------------------------------------------------------------

def test_reject_and_request_new_close_the_break_and_free_the_trade(firm):
    trade = firm.trade("OMS-1", quantity="110")
    confirmation = firm.confirm("C-1")
    assert trade_status(trade) == "MISMATCHED"
    breaks.confirmation_reject(actor=firm.clerk, confirmation_id=confirmation.pk, reason="not ours")
    confirmation.refresh_from_db()
    assert (confirmation.match_status, confirmation.resolution, confirmation.resolution_reason,
            confirmation.resolved_by) == ("REJECTED", "REJECTED", "not ours", firm.clerk)
    assert trade_status(trade) == "UNMATCHED"
    audit = AuditRecord.objects.filter(record_type="clearing.confirmation", action="TRANSITION").get()
    assert (audit.before["match_status"], audit.after["match_status"], audit.reason) == (
        "MISMATCHED", "REJECTED", "not ours")
    renewed = firm.confirm("C-2", quantity="90")
    breaks.confirmation_request_new(actor=firm.clerk, confirmation_id=renewed.pk, reason="send 110")
    renewed.refresh_from_db()
    assert (renewed.match_status, renewed.resolution) == ("REJECTED", "NEW_REQUESTED")
    # The counterparty resends under a new reference, and it matches.
    assert state(firm.confirm("C-3", quantity="110"))[:2] == ("MATCHED", trade.pk)


def test_a_resolution_needs_a_reason_and_an_open_confirmation(firm):
    confirmation = firm.confirm("C-1")
    with pytest.raises(BusinessRuleError, match="A reason is required"):
        breaks.confirmation_reject(actor=firm.clerk, confirmation_id=confirmation.pk, reason="  ")
    firm.trade("OMS-1")
    with pytest.raises(ConflictError, match="is matched"):
        breaks.confirmation_reject(actor=firm.clerk, confirmation_id=confirmation.pk, reason="late")
    assert state(confirmation)[0] == "MATCHED"


def test_force_match_is_proposed_by_one_operations_user_and_applied_when_another_approves(firm):
    trade = firm.trade("OMS-1", quantity="110")
    other = firm.confirm("C-0", quantity="111")  # shows the same trade as its closest candidate
    confirmation = firm.confirm("C-1")
    assert state(other)[:2] == ("MISMATCHED", trade.pk)
    resolution = breaks.confirmation_resolve(actor=firm.clerk, confirmation_id=confirmation.pk, action="force_match",
                                             reason="confirmed by phone", trade_id=trade.pk)
    change = resolution.change
    assert (change.kind, change.status, change.target_id) == ("confirmation.force_match", "PENDING",
                                                              str(confirmation.pk))
    assert state(confirmation)[0] == "MISMATCHED"  # nothing changes before approval
    with pytest.raises(ConflictError, match="awaits approval"):
        breaks.confirmation_reject(actor=firm.clerk, confirmation_id=confirmation.pk, reason="changed my mind")
    with pytest.raises(ForbiddenError):
        approvals.change_approve(actor=firm.clerk, change_id=change.pk)
    approvals.change_approve(actor=firm.checker, change_id=change.pk, reason="ok")
    confirmation.refresh_from_db()
    assert (confirmation.match_status, confirmation.trade_id, confirmation.resolution, confirmation.resolved_by) == (
        "MATCHED", trade.pk, "FORCE_MATCHED", firm.checker)
    assert confirmation.resolution_reason == f"change request #{change.pk}: confirmed by phone"
    assert confirmation.mismatches == [{"field": "quantity", "ours": "110", "theirs": "100"}]
    assert trade_status(trade) == "MATCHED"
    event = TradeEvent.objects.get(trade=trade, action="MATCH")
    assert event.reason == (f"Confirmation BRKR-A C-1 (#{confirmation.pk}) force-matched: change request "
                            f"#{change.pk}: confirmed by phone")
    # The other confirmation no longer shows a matched trade.
    assert state(other) == ("UNMATCHED", None, [])


def test_force_match_is_refused_for_a_matched_cancelled_or_other_counterparty_trade(firm):
    matched = firm.trade("OMS-1")
    firm.mirror_of(matched, "C-M")
    confirmation = firm.confirm("C-1", quantity="5")
    with pytest.raises(ConflictError, match="already matched"):
        breaks.confirmation_resolve(actor=firm.clerk, confirmation_id=confirmation.pk, action="force_match",
                                    reason="x", trade_id=matched.pk)
    cancelled = firm.trade("OMS-2", quantity="6")
    trade_services.trade_cancel(actor=firm.oms, trade_id=cancelled.pk, reason="x")
    with pytest.raises(ConflictError, match="cancelled"):
        breaks.confirmation_resolve(actor=firm.clerk, confirmation_id=confirmation.pk, action="force_match",
                                    reason="x", trade_id=cancelled.pk)
    other = firm.trade("OMS-3", counterparty="NSCC")
    with pytest.raises(BusinessRuleError, match="another counterparty"):
        breaks.confirmation_resolve(actor=firm.clerk, confirmation_id=confirmation.pk, action="force_match",
                                    reason="x", trade_id=other.pk)
    with pytest.raises(ForbiddenError):
        breaks.confirmation_resolve(actor=firm.broker, confirmation_id=confirmation.pk, action="force_match",
                                    reason="x", trade_id=cancelled.pk)
    assert state(confirmation)[0] == "UNMATCHED"


# The matching job and tolerances -----------------------------------------------------------------------

def test_the_job_matches_again_what_a_new_tolerance_lets_match_and_a_rerun_changes_nothing(firm):
    trade = firm.trade("OMS-1", price="100")
    confirmation = firm.confirm("C-1", price="100.05")  # 5 bp away
    firm.confirm("C-2", quantity="1")  # stays unmatched
    assert state(confirmation)[0] == "MISMATCHED"
    tolerances.match_tolerance_set(actor=firm.clerk, asset_class="EQUITY", price_tolerance_bps="5",
                                   reason="broker rounds averages")
    job = job_run_execute(job_id=job_create(kind=MATCHING, started_by=firm.clerk).pk)
    assert job.status == JobRun.Status.COMPLETED
    assert job.result == [{"rows": 2, "looked_at": 2, "matched": 1, "mismatched": 0, "unmatched": 1,
                           "trades_changed": 1, "ids": [confirmation.pk, confirmation.pk + 1]}]
    assert state(confirmation) == ("MATCHED", trade.pk, [])
    assert AuditRecord.objects.filter(record_type="clearing.confirmation", action="UPDATE",
                                      correlation_id=f"job:clearing-match:{job.pk}").count() == 2
    again = job_run_execute(job_id=job_create(kind=MATCHING, started_by=firm.clerk).pk)
    assert again.result == [{"rows": 0, "looked_at": 1, "matched": 0, "mismatched": 0, "unmatched": 0,
                             "trades_changed": 0, "ids": [confirmation.pk + 1, confirmation.pk + 1]}]


def test_the_beat_task_and_run_job_run_the_matching_job(firm):
    from django.core.management import call_command

    from clearing.matching.tasks import match_task

    confirmation = firm.confirm("C-1")
    with override_settings(TRADE_HOOKS=[]):
        trade = firm.trade("OMS-1")
    totals = match_task.apply().get()
    assert {k: totals[k] for k in ("status", "matched", "mismatched", "unmatched")} == {
        "status": "COMPLETED", "matched": 1, "mismatched": 0, "unmatched": 0}
    assert JobRun.objects.get(pk=totals["job"]).started_by_label == "clearing.match"
    assert state(confirmation)[:2] == ("MATCHED", trade.pk)
    call_command("run_job", "clearing-match", "--now", stdout=io.StringIO())
    assert JobRun.objects.filter(kind=MATCHING, started_by_label="command:run_job", status="COMPLETED").count() == 1


def test_the_job_cuts_its_chunks_by_id_range_when_created():
    assert id_ranges({"first_id": 3, "last_id": 12, "ids_per_chunk": 4}) == [(3, 6), (7, 10), (11, 12)]
    assert id_ranges({"first_id": 1, "last_id": 0, "ids_per_chunk": 5000}) == []


def test_the_job_with_nothing_open_completes_with_nothing_to_do(firm):
    job = job_run_execute(job_id=job_create(kind=MATCHING).pk)
    assert (job.status, job.chunks_total, job.parameters) == (
        JobRun.Status.COMPLETED, 0, {"first_id": 1, "last_id": 0, "ids_per_chunk": 5000})


def test_a_range_of_the_job_leaves_confirmations_outside_it_alone(firm):
    first = firm.confirm("C-1")
    second = firm.confirm("C-2")
    with override_settings(TRADE_HOOKS=[]):
        firm.trade("OMS-1")
        firm.trade("OMS-2")
    with transaction.atomic():
        outcome = confirmations_match_range(actor="test", first_id=second.pk, last_id=second.pk)
    assert (outcome.matched, state(first)[0], state(second)[0]) == ([second.pk], "UNMATCHED", "MATCHED")


def test_tolerance_changes_are_audited_and_refused_out_of_range(firm):
    tolerance = tolerances.match_tolerance_set(actor=firm.clerk, asset_class="GOVT_BOND", price_tolerance_bps="0.25",
                                               reason="1/256 of a point")
    assert tolerance.price_tolerance_bps == D("0.25")
    record = AuditRecord.objects.get(record_type="clearing.matchtolerance", record_id=str(tolerance.pk))
    assert (record.before["price_tolerance_bps"], record.after["price_tolerance_bps"], record.reason) == (
        "0.5", "0.25", "1/256 of a point")
    for bps, message in (("-1", "Must not be negative."), ("1000.1", "At most 1000 bp"),
                         ("0.00001", "no more than 4 decimal places")):
        with pytest.raises(BusinessRuleError, match=message):
            tolerances.match_tolerance_set(actor=firm.clerk, asset_class="GOVT_BOND", price_tolerance_bps=bps,
                                           reason="x")
    with pytest.raises(BusinessRuleError, match="Say why"):
        tolerances.match_tolerance_set(actor=firm.clerk, asset_class="GOVT_BOND", price_tolerance_bps="1", reason="")
    assert MatchTolerance.objects.get(asset_class="GOVT_BOND").price_tolerance_bps == D("0.25")


def test_the_hook_does_nothing_for_no_trades():
    with CaptureQueriesContext(connection) as queries:
        matching_on_trades(trade_ids=[], event="booked", actor=None)
    assert len(queries) == 0
