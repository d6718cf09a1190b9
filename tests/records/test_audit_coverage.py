"""Every write path leaves an audit record: a walk over every service of every app.

The walk lists every public function of every ``<app>.services`` and ``<app>.<sub-domain>.services``
module (or package of modules). Each is either a writer, called here with real input while the
SQL it runs is watched, or declared as not writing (a read, a computation, a helper that only runs
inside a writer's transaction). A new service that is neither fails the first test, so nobody adds
a write path without walking it.

For each writer, every table the call inserts into, updates or deletes from must be named by an
audit record written during the call (its record type is the model's ``app_label.modelname``),
or by a purge tombstone that counts the rows it removed. Audit tables themselves are exempt.
"""

import importlib
import inspect
import pkgutil
import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import connection, transaction
from django.test.utils import override_settings

from accounting.chart import services as accounting_chart
from accounting.journals import services as accounting_journals
from accounting.periods import services as accounting_periods
from accounting.posting import services as accounting_posting
from accounting.reconciliation import services as accounting_reconciliation
from clearing.matching.services import breaks as matching_breaks
from clearing.matching.services import confirmations as matching_confirmations
from clearing.matching.services import matching, tolerances
from clearing.netting import services as netting
from compliance.restricted import services as compliance_restricted
from compliance.rules import services as compliance_rules
from compliance.surveillance import services as compliance_surveillance
from records.approvals import services as approvals
from records.audit.models import AuditRecord
from records.audit.services import audit_chain
from records.audit.services.audit import content_hash
from records.cash import services as cash
from records.exports import services as exports
from records.positions import services as positions
from records.reference.services import reference
from records.reference.services.reference import PriceInput
from records.retention import services as retention
from records.retention.models import LegalHold, RetentionPolicy
from records.trades import services as trades
from records.trades.models import Trade
from records.trades.services import TradeInput
from settlements.fails import services as settlement_fails
from settlements.instructions.services import instructions as settlement_instructions
from settlements.instructions.services import ssis as settlement_ssis
from settlements.iso20022 import services as settlement_iso20022
from settlements.runs import services as settlement_runs
from tests.conftest import APPLE, make_user
from tests.records import helpers_retention

APPS = ("records", "clearing", "settlements", "accounting", "compliance")
TRADE_DATE = date(2026, 11, 20)  # a Friday, a business day everywhere
NETTING_DATE = date(2026, 11, 23)  # when a US trade of TRADE_DATE settles
AUDIT_TABLES = {"records_auditrecord", "records_auditseal", "records_auditblock"}
# What Django and Celery write for themselves (sessions, task results), not business records.
INFRASTRUCTURE_PREFIXES = ("django_", "celery_", "auth_permission", "django_celery")

# Rows written only together with their parent, whose audit record of the same change holds the
# before and after values (an amendment's audit record is the old and new terms; the version row
# keeps the old terms, the event row the transition): audited through the parent.
AUDITED_WITH_PARENT = {"records.tradeevent": "records.trade", "records.tradeversion": "records.trade",
                       # a netted trade's audit record (BOOKED -> CLEARED) names its obligation: the link
                       "clearing.nettedtrade": "records.trade",
                       # a journal entry's lines are immutable with it; its audit record states their debits.
                       # Lots, their movements and the posting state are the posting engine's working state,
                       # each change made by (and rebuilt from) the entry that made it.
                       "accounting.journalline": "accounting.journalentry",
                       "accounting.costlot": "accounting.journalentry",
                       "accounting.lotmovement": "accounting.journalentry",
                       "accounting.postingstate": "accounting.journalentry",
                       # a reconciliation's breaks are audited one by one with their run's CREATE
                       }

# Functions that write nothing of their own: reads, computations, and helpers that run only inside
# a writer's transaction (covered by walking that writer). Keep each reason honest.
NOT_WRITERS = {
    # the audit service itself and its hashing
    "records.audit.services.audit.snapshot": "read",
    "records.audit.services.audit.record_type_of": "computation",
    "records.audit.services.audit.actor_fields": "computation",
    "records.audit.services.audit.audit_log": "the audit write itself",
    "records.audit.services.audit.audit_log_bulk": "the audit write itself",
    "records.audit.services.audit.audit_rows": "computation: the audit rows a batch writer inserts with its own",
    "records.audit.services.audit.hash_fields": "computation",
    "records.audit.services.audit.content_hash": "computation",
    "records.audit.services.audit.changed_fields": "computation",
    "records.audit.services.audit_chain.members_digest": "computation",
    "records.audit.services.audit_chain.block_hash": "computation",
    "records.audit.services.audit_chain.audit_seal": "writes only audit tables (sealed blocks)",
    "records.audit.services.audit_chain.audit_verify": "read",
    "records.audit.services.audit_chain.audit_verify_blocks": "read",
    "records.audit.services.audit_chain.audit_verify_tail": "read",
    "records.audit.services.audit_chain.audit_block_span": "read",
    # calendar
    "records.reference.services.calendar.is_settlement_day": "computation",
    "records.reference.services.calendar.is_trading_session": "computation",
    "records.reference.services.calendar.add_settlement_days": "computation",
    "records.reference.services.calendar.standard_settlement_cycle": "computation",
    "records.reference.services.calendar.settlement_cycle_for": "computation",
    "records.reference.services.calendar.settlement_date_for": "computation",
    "records.reference.services.calendar.market_today": "computation",
    "records.reference.services.calendar.calendars_warm": "read: builds the calendars in memory",
    # locks and set-based helpers of writers
    "records.cash.services.cash_balance_lock": "helper: locks (creating if absent) inside cash_movement_create",
    "records.positions.services.position_lock": "helper: locks (creating if absent) inside movement and trade writers",
    "records.positions.services.trade_booking_delta": "computation",
    "records.positions.services.positions_apply": "helper: applies deltas inside trade writers, audited by them",
    "records.reference.services.reference.market_get": "read",
    # maker-checker (its registry of kinds is records.approvals.kinds, not a service)
    "records.approvals.services.change_being_applied": "read",
    "records.approvals.services.applied_reason": "read",
    "records.approvals.services.to_payload": "computation",
    # exports: files on disk; export_manifest_create is walked below
    "records.exports.services.export_register": "registry",
    "records.exports.services.trade_blotter_rows": "read",
    "records.exports.services.stock_record_rows": "read",
    "records.exports.services.cash_movement_rows": "read",
    "records.exports.services.audit_trail_rows": "read",
    "records.exports.services.export_range_check": "computation",
    "records.exports.services.export_kind_get": "read",
    "records.exports.services.export_csv": "read",
    "records.exports.services.export_filename": "computation",
    "records.exports.services.export_dir": "computation",
    "records.exports.services.manifest_dir": "computation",
    "records.exports.services.export_write": "writes a file, no record (its manifest is the record)",
    "records.exports.services.file_sha256": "read",
    "records.exports.services.manifest_content": "computation",
    "records.exports.services.export_manifest_verify": "read",
    "records.exports.services.manifest_file_path": "read",
    # retention
    "records.retention.services.retention_policy_get": "read",
    "records.retention.services.retention_cutoff": "computation",
    "records.retention.services.active_holds": "read",
    "records.retention.services.id_ranges": "computation",
    "records.retention.services.ids_digest": "computation",
    "records.retention.services.tombstone_ids": "computation",
    "records.retention.services.audit_maintenance": "helper: opens the purge's maintenance window",
    "records.retention.services.audit_blocks_purgeable": "read",
    "records.retention.services.audit_block_purge": "helper: one block of purge_run, walked through it",
    # clearing: netting
    "clearing.netting.services.netting_date_parse": "computation",
    "clearing.netting.services.netting_parameters": "read: the booked trades per instrument a run's chunks are cut by",
    "clearing.netting.services.instrument_ranges": "computation",
    "clearing.netting.services.settlement_day_markets": "read",
    "clearing.netting.services.next_settlement_date": "read",
    # clearing: matching
    "clearing.matching.services.matching.price_within_tolerance": "computation",
    "clearing.matching.services.matching.terms_agree": "computation",
    "clearing.matching.services.matching.terms_differences": "computation",
    "clearing.matching.services.matching.trade_terms_get": "read",
    "clearing.matching.services.matching.match_keys_lock": "helper: takes the matching locks inside breaks writers",
}


def service_modules(app: str) -> list:
    """Every services module of an app: ``<app>.services`` and each sub-domain's ``<app>.<sub>.services``,
    a module or a package of modules."""
    package = importlib.import_module(app)
    owners = [app, *(f"{app}.{info.name}" for info in pkgutil.iter_modules(package.__path__) if info.ispkg)]
    modules = []
    for owner in owners:
        try:
            services = importlib.import_module(f"{owner}.services")
        except ModuleNotFoundError as exc:
            if exc.name != f"{owner}.services":
                raise
            continue
        modules.append(services)
        if hasattr(services, "__path__"):
            modules += [importlib.import_module(f"{services.__name__}.{info.name}")
                        for info in pkgutil.iter_modules(services.__path__)]
    return modules


def service_functions() -> set[str]:
    """Every public function defined in a services module of a project app."""
    found = set()
    for app in APPS:
        for module in service_modules(app):
            for name, value in vars(module).items():
                if (not name.startswith("_") and inspect.isfunction(value)
                        and value.__module__ == module.__name__):
                    found.add(f"{module.__name__}.{name}")
    return found


def test_the_walk_finds_the_services_of_every_sub_domain():
    assert {module.__name__ for module in service_modules("records")} == {
        "records.approvals.services", "records.audit.services", "records.audit.services.audit",
        "records.audit.services.audit_chain", "records.cash.services", "records.exports.services",
        "records.positions.services", "records.reference.services", "records.reference.services.calendar",
        "records.reference.services.reference", "records.retention.services", "records.trades.services"}


# The writers, each with a scenario that makes it write ---------------------------------------------

@dataclass
class World:
    maker: object
    checker: object
    instruments: dict
    accounts: dict
    counterparties: dict

    def trade(self, ref="WALK-1", side="BUY", quantity="100", price="189.25"):
        item = TradeInput(external_ref=ref, account="ACC-001", counterparty="BRKR-A", instrument=APPLE, side=side,
                          quantity=Decimal(quantity), price=Decimal(price), trade_date=TRADE_DATE)
        result = trades.trade_submit(submitted_by=self.maker, item=item)
        assert result.status == trades.CREATED, result.errors
        return result.trade_id

    def matched_trade(self, **kwargs):
        """A trade its counterparty confirmed (BRKR-A requires matching): one that may settle."""
        trade_id = self.trade(**kwargs)
        Trade.objects.filter(pk=trade_id).update(match_status=Trade.MatchStatus.MATCHED)
        return trade_id

    def cash_change(self):
        return approvals.change_propose(actor=self.maker, kind="cash.adjustment", reason="statement",
                                        payload={"account": "ACC-001", "currency": "USD", "amount": "10",
                                                 "value_date": TRADE_DATE.isoformat()})

    def netting_run(self, *, net=False):
        """A clearing run of NETTING_DATE with a matched trade to net; its job (netted first when net)."""
        Trade.objects.filter(pk=self.trade(ref="WALK-NET")).update(match_status=Trade.MatchStatus.MATCHED)
        job = netting.clearing_run_create(settlement_date=NETTING_DATE, started_by=self.checker).job
        if net:
            netting.clearing_run_net(job=job, index=0)
        return job

    def old_trade(self):
        return helpers_retention.trade(user=self.maker, account=self.accounts["ACC-001"],
                                       instrument=self.instruments["AAPL"],
                                       counterparty=self.counterparties["BRKR-A"],
                                       trade_date=date.today() - timedelta(days=7 * 366))


def _held_trade(w):
    item = TradeInput(external_ref="WALK-HELD", account="ACC-001", counterparty="BRKR-A", instrument=APPLE,
                      side="BUY", quantity=Decimal("400000"), price=Decimal("189.25"), trade_date=TRADE_DATE)
    result = trades.trade_submit(submitted_by=w.maker, item=item)
    assert Trade.objects.get(pk=result.trade_id).status == Trade.Status.HELD
    return result.trade_id


def _walk_confirmation(w, ref="WALK-C1", quantity="100"):
    """A broker's confirmation of w.trade()'s terms (quantity aside); its id."""
    result = matching_confirmations.confirmation_submit(submitted_by=w.maker, item=_walk_item(ref, quantity))
    assert result.status == matching_confirmations.CREATED, result.errors
    return result.confirmation_id


def _walk_item(ref, quantity="100"):
    return matching_confirmations.ConfirmationInput(
        counterparty="BRKR-A", counterparty_ref=ref, account="ACC-001", instrument=APPLE, side="SELL",
        quantity=Decimal(quantity), price=Decimal("189.25"), trade_date=TRADE_DATE, settlement_date=NETTING_DATE)


def _walk_waiting_pair(w):
    """A confirmation, then its trade booked without the trade hook: they match once matching runs."""
    confirmation_id = _walk_confirmation(w)
    with override_settings(TRADE_HOOKS=[]):
        return confirmation_id, w.trade(ref="WALK-M")


def _walk_stale_match(w):
    """A matched pair whose trade's match status was left behind: the refresh has something to write."""
    trade_id = w.trade(ref="WALK-M")
    _walk_confirmation(w)
    Trade.objects.filter(pk=trade_id).update(match_status=Trade.MatchStatus.UNMATCHED)
    return trade_id


def _walk_break(w):
    """A confirmation MISMATCHED against w.trade() (quantity 110 against 100); its id."""
    w.trade(ref="WALK-M", quantity="110")
    return _walk_confirmation(w)


# name -> (setup(world) returning context, call(world, context))
WRITERS = {
    "records.reference.services.reference.instrument_create": (None, lambda w, _: reference.instrument_create(
        actor=w.maker, isin="US88160R1014", symbol="TSLA", name="Tesla", asset_class="EQUITY", currency="USD",
        market="XNAS")),
    "records.reference.services.reference.instrument_update": (None, lambda w, _: reference.instrument_update(
        actor=w.maker, instrument=w.instruments["AAPL"], changes={"name": "Apple Inc. (renamed)"}, reason="r")),
    "records.reference.services.reference.account_create": (None, lambda w, _: reference.account_create(
        actor=w.maker, code="ACC-WALK", name="Walk", kind="CLIENT", base_currency="USD")),
    "records.reference.services.reference.account_update": (None, lambda w, _: reference.account_update(
        actor=w.maker, account=w.accounts["ACC-001"], changes={"status": "SUSPENDED"}, reason="r")),
    "records.reference.services.reference.counterparty_create": (None, lambda w, _: reference.counterparty_create(
        actor=w.maker, code="BRKR-W", name="Broker W", lei="529900T8BM49AURSDO55")),
    "records.reference.services.reference.counterparty_update": (None, lambda w, _: reference.counterparty_update(
        actor=w.maker, counterparty=w.counterparties["BRKR-A"], changes={"name": "Broker A Ltd"}, reason="r")),
    "records.reference.services.reference.price_upsert": (None, lambda w, _: reference.price_upsert(
        actor=w.maker, prices=[PriceInput(instrument=w.instruments["AAPL"], price_date=TRADE_DATE,
                                          price=Decimal("190.10"), currency="USD")])),
    "records.reference.services.reference.fx_rate_upsert": (None, lambda w, _: reference.fx_rate_upsert(
        actor=w.maker, base_currency="EUR", quote_currency="USD", rate_date=TRADE_DATE, rate=Decimal("1.0812"))),
    "records.cash.services.cash_movement_create": (None, lambda w, _: cash.cash_movement_create(
        actor=w.maker, account=w.accounts["ACC-001"], currency="USD", amount=Decimal("1000"),
        value_date=TRADE_DATE, reference="WALK-CASH")),
    "records.positions.services.stock_movement_create": (None, lambda w, _: positions.stock_movement_create(
        actor=w.maker, account=w.accounts["ACC-001"], instrument=w.instruments["AAPL"], quantity=Decimal("50"),
        value_date=TRADE_DATE, reference="WALK-STOCK")),
    "records.trades.services.trade_submit": (None, lambda w, _: w.trade()),
    "records.trades.services.trade_submit_batch": (None, lambda w, _: trades.trade_submit_batch(
        submitted_by=w.maker, items=[(n, TradeInput(
            external_ref=f"WALK-B{n}", account="ACC-001", counterparty="BRKR-A", instrument=APPLE,
            side="BUY" if n % 2 else "SELL", quantity=Decimal(10 + n), price=Decimal("189.25"),
            trade_date=TRADE_DATE)) for n in range(5)])),
    "records.trades.services.trade_amend": (lambda w: w.trade(), lambda w, trade_id: trades.trade_amend(
        actor=w.maker, trade_id=trade_id, changes={"quantity": Decimal("150")}, reason="wrong quantity")),
    "records.trades.services.trade_cancel": (lambda w: w.trade(), lambda w, trade_id: trades.trade_cancel(
        actor=w.maker, trade_id=trade_id, reason="booked in error")),
    "records.trades.services.trade_release": (_held_trade, lambda w, trade_id: trades.trade_release(
        actor=w.checker, trade_id=trade_id, reason="client confirmed")),
    "records.approvals.services.change_propose": (None, lambda w, _: w.cash_change()),
    "records.approvals.services.change_approve": (lambda w: w.cash_change().pk, lambda w, pk: approvals.change_approve(
        actor=w.checker, change_id=pk, reason="checked")),
    "records.approvals.services.change_reject": (lambda w: w.cash_change().pk, lambda w, pk: approvals.change_reject(
        actor=w.checker, change_id=pk, reason="no statement")),
    "records.approvals.services.change_withdraw": (
        lambda w: w.cash_change().pk, lambda w, pk: approvals.change_withdraw(actor=w.maker, change_id=pk)),
    "records.retention.services.retention_policy_update": (None, lambda w, _: retention.retention_policy_update(
        actor=w.checker, policy=RetentionPolicy.objects.get(record_type="records.price"), retention_years=5,
        reason="longer")),
    "records.retention.services.legal_hold_place": (None, lambda w, _: retention.legal_hold_place(
        actor=w.checker, scope=LegalHold.Scope.ACCOUNT, account=w.accounts["ACC-001"], reason="subpoena")),
    "records.retention.services.legal_hold_release": (
        lambda w: retention.legal_hold_place(actor=w.checker, scope=LegalHold.Scope.ACCOUNT,
                                             account=w.accounts["ACC-001"], reason="subpoena").pk,
        lambda w, pk: retention.legal_hold_release(actor=w.checker, hold_id=pk, reason="matter closed")),
    "records.retention.services.purge_run": (lambda w: w.old_trade().pk, lambda w, pk: retention.purge_run(
        record_type="records.trade")),
    "records.retention.services.purge_all": (lambda w: w.old_trade().pk, lambda w, pk: retention.purge_all()),
    "records.audit.services.audit_chain.audit_verification_run": (None, lambda w, _: audit_chain.audit_verification_run(
        actor=w.checker)),
    "records.audit.services.audit_chain.audit_verification_record": (
        None, lambda w, _: audit_chain.audit_verification_record(result=audit_chain.audit_verify(), actor=w.checker)),
    # Sealed first, so that it checks a block and keeps its result (with nothing new it writes nothing).
    "records.audit.services.audit_chain.audit_verify_incremental": (
        lambda w: audit_chain.audit_seal(), lambda w, _: audit_chain.audit_verify_incremental(actor=w.checker)),
    "records.exports.services.export_manifest_create": (None, lambda w, _: exports.export_manifest_create(
        business_date=TRADE_DATE)),
    "clearing.netting.services.clearing_run_create": (None, lambda w, _: netting.clearing_run_create(
        settlement_date=NETTING_DATE, started_by=w.checker)),
    "clearing.netting.services.clearing_run_start": (None, lambda w, _: netting.clearing_run_start(
        settlement_date=NETTING_DATE, started_by=w.checker)),
    "clearing.netting.services.clearing_run_net": (lambda w: w.netting_run(), lambda w, job: netting.clearing_run_net(
        job=job, index=0)),
    "clearing.netting.services.clearing_run_summarize": (
        lambda w: w.netting_run(net=True), lambda w, job: netting.clearing_run_summarize(job=job)),
    "clearing.matching.services.confirmations.confirmation_submit": (
        lambda w: w.trade(ref="WALK-M"), lambda w, _: _walk_confirmation(w)),
    "clearing.matching.services.confirmations.confirmation_submit_batch": (
        lambda w: w.trade(ref="WALK-M"), lambda w, _: matching_confirmations.confirmation_submit_batch(
            submitted_by=w.maker, items=[(0, _walk_item("WALK-C1")), (1, _walk_item("WALK-C2", "5"))])),
    "clearing.matching.services.matching.confirmations_match": (_walk_waiting_pair, lambda w, pair: (
        matching.confirmations_match(actor=w.maker, confirmation_ids=[pair[0]]))),
    "clearing.matching.services.matching.confirmations_match_range": (_walk_waiting_pair, lambda w, pair: (
        matching.confirmations_match_range(actor="job:clearing-match", first_id=pair[0], last_id=pair[0]))),
    "clearing.matching.services.matching.matching_on_trades": (_walk_waiting_pair, lambda w, pair: (
        matching.matching_on_trades(trade_ids=[pair[1]], event="booked", actor=w.maker))),
    "clearing.matching.services.matching.trade_match_status_refresh": (_walk_stale_match, lambda w, trade_id: (
        matching.trade_match_status_refresh(actor=w.checker, trade_ids=[trade_id], reason="refresh"))),
    "clearing.matching.services.breaks.confirmation_reject": (_walk_break, lambda w, pk: (
        matching_breaks.confirmation_reject(actor=w.checker, confirmation_id=pk, reason="not ours"))),
    "clearing.matching.services.breaks.confirmation_request_new": (_walk_break, lambda w, pk: (
        matching_breaks.confirmation_request_new(actor=w.checker, confirmation_id=pk, reason="send 110"))),
    "clearing.matching.services.breaks.confirmation_resolve": (_walk_break, lambda w, pk: (
        matching_breaks.confirmation_resolve(actor=w.checker, confirmation_id=pk, action="reject", reason="x"))),
    "clearing.matching.services.breaks.confirmation_force_match": (_walk_break, lambda w, pk: (
        matching_breaks.confirmation_force_match(actor=w.checker, confirmation_id=pk,
                                                 trade_id=Trade.objects.get(external_ref="WALK-M").pk,
                                                 reason="phoned"))),
    "clearing.matching.services.tolerances.match_tolerance_set": (None, lambda w, _: tolerances.match_tolerance_set(
        actor=w.checker, asset_class="EQUITY", price_tolerance_bps="2", reason="rounding")),
}


def _walk_instruction(w):
    """A gross trade instructed (HELD: no SSI of NSCC yet); the instruction's id."""
    return settlement_instructions.instruction_create_for_trade(actor=w.checker,
                                                                trade_id=w.matched_trade(ref="WALK-SI")).pk


def _walk_ssi_written_behind(w):
    """A held instruction and an SSI that covers it, written without the service: the refresh has work to do."""
    from records.reference.models import Counterparty
    from settlements.models import StandingSettlementInstruction

    _walk_instruction(w)
    nscc = Counterparty.objects.get(code="NSCC")
    StandingSettlementInstruction.objects.create(
        counterparty=nscc, depository_bic="DTCYUS33", place_of_settlement_bic="DTCYUS33", agent_bic="CITIUS33",
        safekeeping_account="WALK", effective_from=TRADE_DATE)
    return nscc.pk


def _walk_ssi_create(w, _):
    from records.reference.models import Counterparty

    return settlement_ssis.ssi_create(
        actor=w.checker, counterparty=Counterparty.objects.get(code="NSCC"), market=None, depository_bic="DTCYUS33",
        place_of_settlement_bic="DTCYUS33", agent_bic="CITIUS33", safekeeping_account="WALK",
        effective_from=TRADE_DATE)


# Settlements: instructions and standing settlement instructions.
WRITERS.update({
    "settlements.instructions.services.instructions.instructions_create_for_clearing_run": (
        lambda w: w.netting_run(net=True),
        lambda w, job: settlement_instructions.instructions_create_for_clearing_run(job=job)),
    "settlements.instructions.services.instructions.instruction_create_for_trade": (
        lambda w: w.matched_trade(ref="WALK-SI"),
        lambda w, trade_id: settlement_instructions.instruction_create_for_trade(
            actor=w.checker, trade_id=trade_id)),
    "settlements.instructions.services.instructions.instruction_allow_partial_set": (
        _walk_instruction, lambda w, pk: settlement_instructions.instruction_allow_partial_set(
            actor=w.checker, instruction_id=pk, allow_partial=False)),
    "settlements.instructions.services.instructions.instruction_counterparty_fail": (
        _walk_instruction, lambda w, pk: settlement_instructions.instruction_counterparty_fail(
            actor=w.checker, instruction_id=pk, reason="their agent is short")),
    "settlements.instructions.services.instructions.instructions_ssi_refresh": (
        _walk_ssi_written_behind, lambda w, counterparty_id: settlement_instructions.instructions_ssi_refresh(
            actor=w.checker, counterparty_id=counterparty_id)),
    "settlements.instructions.services.ssis.ssi_create": (_walk_instruction, _walk_ssi_create),
    "settlements.instructions.services.ssis.ssi_update": (
        lambda w: (_walk_instruction(w), _walk_ssi_create(w, None).pk)[1],
        lambda w, pk: settlement_ssis.ssi_update(actor=w.checker, ssi_id=pk, changes={"effective_to": TRADE_DATE})),
})


# Settlements: runs. A movement is written only with its instruction, whose TRANSITION record names it
# (id, run, quantity and cash).
AUDITED_WITH_PARENT["settlements.settlementmovement"] = "settlements.settlementinstruction"
NOT_WRITERS.update({
    "settlements.runs.services.settlement_markets": "read",
    "settlements.runs.services.settlement_date_parse": "read: the markets settling that day",
    "settlements.runs.services.settlement_parameters": "read: the open instructions per account a run is cut by",
    "settlements.runs.services.confirmations_parameters": "computation",
    "settlements.runs.services.account_ranges": "computation",
})


def _walk_settlement_instruction(w):
    """A trade netted and instructed (PENDING: NSCC has an SSI), settling NETTING_DATE; its id."""
    _walk_ssi_create(w, None)
    settlement_instructions.instructions_create_for_clearing_run(job=w.netting_run(net=True))
    from settlements.models import SettlementInstruction

    return SettlementInstruction.objects.get().pk


def _walk_settlement_run(w):
    _walk_settlement_instruction(w)
    return settlement_runs.settlement_run_create(settlement_date=NETTING_DATE, started_by=w.checker).job


WRITERS.update({
    "settlements.runs.services.settlement_run_create": (None, lambda w, _: settlement_runs.settlement_run_create(
        settlement_date=NETTING_DATE, started_by=w.checker)),
    "settlements.runs.services.settlement_run_start": (None, lambda w, _: settlement_runs.settlement_run_start(
        settlement_date=NETTING_DATE, started_by=w.checker)),
    "settlements.runs.services.settlement_run_settle": (
        _walk_settlement_run, lambda w, job: settlement_runs.settlement_run_settle(job=job, index=0)),
    "settlements.runs.services.instruction_settle_confirmed": (
        _walk_settlement_instruction, lambda w, pk: settlement_runs.instruction_settle_confirmed(
            actor=w.checker, instruction_id=pk, reason="sese.025: settled", settled_on=NETTING_DATE)),
    "settlements.runs.services.instruction_cancel": (
        _walk_settlement_instruction, lambda w, pk: settlement_runs.instruction_cancel(
            actor=w.checker, instruction_id=pk, reason="paired off")),
})



# Settlements: fails (CSDR penalties, Reg SHO bases and close-out deadlines).
NOT_WRITERS.update({
    "settlements.fails.services.settling_markets": "read",
    "settlements.fails.services.previous_penalty_day": "read",
    "settlements.fails.services.penalty_date_parse": "read: the markets settling that day",
    "settlements.fails.services.fail_penalties_parameters": "read: the open fails a run's chunks are cut by",
    "settlements.fails.services.fail_ranges": "computation",
    "settlements.fails.services.instruction_trade_date": "read",
})


def _walk_fail(w):
    """A sale instructed and failed on NETTING_DATE for lack of securities, priced that day; the fail."""
    from django.utils import timezone

    from settlements.models import SettlementFail

    instruction = settlement_instructions.instruction_create_for_trade(
        actor=w.checker, trade_id=w.matched_trade(ref="WALK-FAIL", side="SELL"))
    reference.price_upsert(actor=w.maker, prices=[PriceInput(instrument=w.instruments["AAPL"],
                                                             price_date=NETTING_DATE, price=Decimal("190.10"),
                                                             currency="USD")])
    return SettlementFail.objects.create(instruction=instruction, kind="DELIVER", cause="SECURITIES",
                                         failed_on=NETTING_DATE, unsettled_quantity=instruction.quantity,
                                         created_at=timezone.now(), updated_at=timezone.now())


WRITERS.update({
    "settlements.fails.services.fail_penalties_create": (_walk_fail, lambda w, _: (
        settlement_fails.fail_penalties_create(penalty_date=NETTING_DATE, started_by=w.checker))),
    "settlements.fails.services.fail_penalties_start": (_walk_fail, lambda w, _: settlement_fails.fail_penalties_start(
        penalty_date=NETTING_DATE, started_by=w.checker)),
    "settlements.fails.services.fail_regsho_fill": (_walk_fail, lambda w, _: settlement_fails.fail_regsho_fill(
        as_of=NETTING_DATE, actor="job:fail-penalties")),
    "settlements.fails.services.fail_regsho_basis_set": (_walk_fail, lambda w, fail: (
        settlement_fails.fail_regsho_basis_set(actor=w.checker, fail_id=fail.pk, basis="SHORT", reason="locate"))),
    "settlements.fails.services.fail_penalties_accrue": (_walk_fail, lambda w, _: (
        settlement_fails.fail_penalties_accrue(penalty_date=NETTING_DATE, actor="job:fail-penalties"))),
})


# Settlements: ISO 20022 status messages imported back (the FAILED one; SETTLED goes through
# settlements.runs.services.instruction_settle_confirmed, walked above).
WRITERS["settlements.iso20022.services.status_message_receive"] = (
    _walk_instruction, lambda w, pk: settlement_iso20022.status_message_receive(
        actor=w.checker, message_id="WALK-MSG-1", instruction_id=pk, status="FAILED", reason="LACK"))

# Accounting: posting, valuation, reconciliation, the chart, periods and manual journal entries.
NOT_WRITERS.update({
    "accounting.posting.services.posting_parameters": "read: the accounts a run's chunks are cut by",
    "accounting.posting.services.valuation_parameters": "read: the accounts a run's chunks are cut by",
    "accounting.posting.services.account_ranges": "computation",
    "accounting.reconciliation.services.reconciliation_as_of_parse": "computation",
    "accounting.reconciliation.services.reconciliation_parameters": "computation",
})


def _walk_posting_job(kind, *, post_first=True, **params):
    """A trade, a sale, EUR cash, a price and two EUR rates; posted first unless post_first is False (then the
    reconciliation has breaks to write); the job of the kind."""
    def setup(w):
        from backoffice.core.jobs.services import job_create

        w.trade(ref="WALK-POST")
        w.trade(ref="WALK-POST-2", side="SELL", quantity="40", price="190")
        cash.cash_movement_create(actor="test", account=w.accounts["ACC-001"], currency="EUR",
                                  amount=Decimal("1000"), value_date=TRADE_DATE, reference="WALK-EUR")
        reference.price_upsert(actor=w.maker, prices=[PriceInput(instrument=w.instruments["AAPL"],
                                                                 price_date=TRADE_DATE, price=Decimal("190.10"),
                                                                 currency="USD")])
        for day, rate in ((TRADE_DATE, "1.10"), (NETTING_DATE, "1.20")):
            reference.fx_rate_upsert(actor=w.maker, base_currency="EUR", quote_currency="USD", rate_date=day,
                                     rate=Decimal(rate))
        if post_first and kind != "accounting-posting":
            accounting_posting.posting_post(job=job_create(kind="accounting-posting", params={"account_bounds": []}),
                                            index=0)
        return job_create(kind=kind, params={"account_bounds": [], **params})
    return setup


def _walk_manual_entry(w):
    from accounting.journals.validators import manual_entry_parse

    return manual_entry_parse({"entry_date": TRADE_DATE.isoformat(), "currency": "USD", "description": "walk",
                               "lines": [{"gl_account": "1100", "debit": "5"}, {"gl_account": "3200", "credit": "5"}]})


def _walk_manual_posted(w):
    return accounting_journals.journal_manual_post(actor=w.checker, entry=_walk_manual_entry(w), source_id=1)


WRITERS.update({
    "accounting.posting.services.posting_run_start": (None, lambda w, _: accounting_posting.posting_run_start(
        started_by=w.checker)),
    "accounting.posting.services.mark_to_market_start": (None, lambda w, _: accounting_posting.mark_to_market_start(
        as_of=NETTING_DATE, started_by=w.checker)),
    "accounting.posting.services.accounting_eod_start": (None, lambda w, _: accounting_posting.accounting_eod_start(
        as_of=NETTING_DATE, started_by=w.checker)),
    "accounting.posting.services.posting_post": (
        _walk_posting_job("accounting-posting"), lambda w, job: accounting_posting.posting_post(job=job, index=0)),
    "accounting.posting.services.posting_mark_to_market": (
        _walk_posting_job("accounting-mark-to-market", as_of=TRADE_DATE.isoformat()),
        lambda w, job: accounting_posting.posting_mark_to_market(job=job, index=0)),
    "accounting.posting.services.posting_fx_revaluation": (
        _walk_posting_job("accounting-mark-to-market", as_of=NETTING_DATE.isoformat()),
        lambda w, job: accounting_posting.posting_fx_revaluation(job=job, index=0)),
    "accounting.reconciliation.services.reconciliation_start": (
        None, lambda w, _: accounting_reconciliation.reconciliation_start(as_of=None, started_by=w.checker)),
    "accounting.reconciliation.services.reconciliation_create": (
        None, lambda w, _: accounting_reconciliation.reconciliation_create(as_of=None, started_by=w.checker)),
    "accounting.reconciliation.services.reconciliation_reconcile": (
        _walk_posting_job("accounting-reconciliation", post_first=False, as_of=TRADE_DATE.isoformat()),
        lambda w, job: accounting_reconciliation.reconciliation_reconcile(job=job, as_of=TRADE_DATE)),
    "accounting.chart.services.gl_account_create": (None, lambda w, _: accounting_chart.gl_account_create(
        actor=w.checker, code="1900", name="Walk suspense", type="ASSET", parent="1000")),
    "accounting.chart.services.gl_account_update": (None, lambda w, _: accounting_chart.gl_account_update(
        actor=w.checker, code="1100", changes={"name": "Cash at banks"})),
    "accounting.periods.services.period_close": (None, lambda w, _: accounting_periods.period_close(
        actor=w.checker, month=date(2026, 10, 1))),
    "accounting.periods.services.period_reopen": (
        lambda w: accounting_periods.period_close(actor=w.checker, month=date(2026, 10, 1)),
        lambda w, _: accounting_periods.period_reopen(actor=w.checker, month=date(2026, 10, 1))),
    "accounting.journals.services.journal_manual_post": (
        _walk_manual_entry, lambda w, entry: accounting_journals.journal_manual_post(actor=w.checker, entry=entry,
                                                                                    source_id=1)),
    "accounting.journals.services.journal_entry_reverse": (
        _walk_manual_posted, lambda w, entry: accounting_journals.journal_entry_reverse(
            actor=w.checker, entry_id=entry.pk, entry_date=TRADE_DATE, reason="walk")),
})

WRITERS.update({
    "compliance.restricted.services.restricted_create": (None, lambda w, _: compliance_restricted.restricted_create(
        actor=w.checker, instrument=w.instruments["AAPL"], reason="walk", effective_from=TRADE_DATE)),
    "compliance.restricted.services.restricted_end": (
        lambda w: compliance_restricted.restricted_create(actor=w.checker, instrument=w.instruments["AAPL"],
                                                          reason="walk", effective_from=TRADE_DATE),
        lambda w, entry: compliance_restricted.restricted_end(actor=w.checker, entry_id=entry.pk, reason="walk")),
    "compliance.rules.services.rule_create": (None, lambda w, _: compliance_rules.rule_create(
        actor=w.checker, code="walk-qty", kind="QUANTITY", threshold="1000", action="HOLD", reason="walk")),
    "compliance.rules.services.rule_update": (None, lambda w, _: compliance_rules.rule_update(
        actor=w.checker, code_or_id="notional-hold", changes={"threshold": "60000000"}, reason="walk")),
    "compliance.rules.services.rule_deactivate": (None, lambda w, _: compliance_rules.rule_deactivate(
        actor=w.checker, code_or_id="wash-trades", reason="walk")),
})


def _walk_surveillance_job(w):
    """A wash trade of TRADE_DATE (ACC-001 bought and sold AAPL at one price); a surveillance job of the date."""
    from backoffice.core.jobs.services import job_create

    w.trade(ref="WALK-WASH-BUY")
    w.trade(ref="WALK-WASH-SELL", side="SELL")
    return job_create(kind="compliance-surveillance", params={"trade_date": TRADE_DATE.isoformat()})


def _walk_fail_past_deadline(w):
    """A fail to deliver whose close-out deadline was NETTING_DATE; a surveillance job of the day after."""
    from backoffice.core.jobs.services import job_create
    from settlements.models import SettlementFail

    fail = _walk_fail(w)
    SettlementFail.objects.filter(pk=fail.pk).update(close_out_deadline=NETTING_DATE, regsho_basis="SHORT")
    return job_create(kind="compliance-surveillance",
                      params={"trade_date": (NETTING_DATE + timedelta(days=1)).isoformat()})


# an alert's case steps (AlertEvent, append-only) are written with the alert's audit record of the same step
AUDITED_WITH_PARENT.setdefault("compliance.alertevent", "compliance.alert")

WRITERS.update({
    "compliance.surveillance.services.surveillance_run_start": (
        None, lambda w, _: compliance_surveillance.surveillance_run_start(trade_date=TRADE_DATE, started_by=w.checker)),
    "compliance.surveillance.services.surveillance_run_create": (
        None, lambda w, _: compliance_surveillance.surveillance_run_create(trade_date=TRADE_DATE,
                                                                          started_by=w.checker)),
    "compliance.surveillance.services.surveillance_scenario_run": (
        _walk_surveillance_job,
        lambda w, job: compliance_surveillance.surveillance_scenario_run(job=job, step="wash-trades")),
    "compliance.surveillance.services.penalty_box_update": (
        _walk_fail_past_deadline, lambda w, job: compliance_surveillance.penalty_box_update(
            job=job, day=NETTING_DATE + timedelta(days=1))),
})

NOT_WRITERS.update({
    "compliance.surveillance.services.trade_date_parse": "read: the markets trading that day",
    "compliance.surveillance.services.surveillance_parameters": "validation of a run's parameters",
    "compliance.surveillance.services.surveillance_run_now": (
        "creates the run as surveillance_run_create (walked), then the job framework executes its steps "
        "(surveillance_scenario_run, penalty_box_update: walked)"),
})


def _walk_alert(w, *, closed=False):
    """A wash-trade alert raised on a trade (closed with a disposition when asked)."""
    from compliance.alerts import services as compliance_alerts
    from compliance.alerts.services import AlertDraft
    from compliance.rules.models import ComplianceRule

    (alert_id,) = compliance_alerts.alerts_raise(actor="walk", drafts=[AlertDraft(
        rule=ComplianceRule.objects.get(code="wash-trades"), subject_type="TRADE", subject_id=1,
        dedupe_key="walk:1", business_date=TRADE_DATE, summary="walk")])
    if closed:
        compliance_alerts.alert_close(actor=w.checker, alert_id=alert_id, disposition="walk")
    return alert_id


def _alert_services():
    from compliance.alerts import services as compliance_alerts

    return compliance_alerts


WRITERS.update({
    "compliance.alerts.services.alerts_raise": (None, lambda w, _: _walk_alert(w)),
    "compliance.alerts.services.alert_assign": (_walk_alert, lambda w, alert_id: _alert_services().alert_assign(
        actor=w.checker, alert_id=alert_id, owner=w.checker)),
    "compliance.alerts.services.alert_investigate": (
        _walk_alert, lambda w, alert_id: _alert_services().alert_investigate(actor=w.checker, alert_id=alert_id)),
    "compliance.alerts.services.alert_escalate": (_walk_alert, lambda w, alert_id: _alert_services().alert_escalate(
        actor=w.checker, alert_id=alert_id, note="walk")),
    "compliance.alerts.services.alert_close": (_walk_alert, lambda w, alert_id: _alert_services().alert_close(
        actor=w.checker, alert_id=alert_id, disposition="walk")),
    "compliance.alerts.services.alert_reopen": (
        lambda w: _walk_alert(w, closed=True),
        lambda w, alert_id: _alert_services().alert_reopen(actor=w.checker, alert_id=alert_id, reason="walk")),
    "compliance.alerts.services.alert_note": (_walk_alert, lambda w, alert_id: _alert_services().alert_note(
        actor=w.checker, alert_id=alert_id, note="walk")),
    "compliance.alerts.services.alerts_assign_bulk": (
        _walk_alert, lambda w, alert_id: _alert_services().alerts_assign_bulk(
            actor=w.checker, alert_ids=[alert_id], owner=w.checker)),
})

def _walk_locate(w):
    from compliance.shorts import services as compliance_shorts

    return compliance_shorts.locate_create(
        actor=w.checker, account=w.accounts["ACC-001"], instrument=w.instruments["AAPL"], kind="BORROW",
        quantity=Decimal("500"), source="Walk lender", reference="WALK-BORROW", valid_from=TRADE_DATE)


def _walk_penalty_box(w):
    from compliance.shorts.models import PenaltyBoxEntry

    return PenaltyBoxEntry.objects.create(
        account=w.accounts["ACC-001"], instrument=w.instruments["AAPL"], fail_id=1, close_out_deadline=TRADE_DATE,
        since=TRADE_DATE, reason="walk")


def _shorts_services():
    from compliance.shorts import services as compliance_shorts

    return compliance_shorts


WRITERS.update({
    "compliance.shorts.services.locate_create": (None, lambda w, _: _walk_locate(w)),
    "compliance.shorts.services.locate_end": (_walk_locate, lambda w, locate: _shorts_services().locate_end(
        actor=w.checker, locate_id=locate.pk, reason="returned")),
    "compliance.shorts.services.penalty_box_release": (
        _walk_penalty_box, lambda w, entry: _shorts_services().penalty_box_release(
            actor=w.checker, entry_id=entry.pk, reason="bought in")),
    "records.trades.services.trade_reject": (_held_trade, lambda w, trade_id: trades.trade_reject(
        actor=w.checker, trade_id=trade_id, reason="client denied the trade")),
})

NOT_WRITERS.update({
    "compliance.alerts.services.sla_hours": "computation: the SLA of a severity",
    "compliance.alerts.services.alert_owner_resolve": "read: the user an alert may be assigned to",
})

def test_every_service_function_is_walked_or_declared_as_not_writing():
    found = service_functions()
    declared = set(WRITERS) | set(NOT_WRITERS)
    assert not found - declared, f"services nobody walked (add them to WRITERS or NOT_WRITERS): {found - declared}"
    assert not declared - found, f"walked services that no longer exist: {declared - found}"
    assert not set(WRITERS) & set(NOT_WRITERS)


# Every table a statement writes, wherever it appears: data-modifying CTEs and COPY too; not the
# UPDATE of an upsert's ON CONFLICT or of a SELECT ... FOR UPDATE.
_WRITE = re.compile(r'\b(?:INSERT\s+INTO|(?<!DO )(?<!FOR )(?<!KEY )UPDATE|DELETE\s+FROM|COPY)\s+"?(\w+)"?',
                    re.IGNORECASE)


def test_the_write_watcher_sees_every_table_a_statement_writes():
    assert set(_WRITE.findall('COPY "records_trade" ("id") FROM STDIN')) == {"records_trade"}
    assert set(_WRITE.findall('WITH a AS (INSERT INTO "records_trade" ("id") VALUES (1)), b AS (INSERT INTO '
                              '"records_tradeevent" ("x") VALUES (2)) INSERT INTO "records_auditrecord" ("y") '
                              'VALUES (3)')) == {"records_trade", "records_tradeevent", "records_auditrecord"}
    assert _WRITE.findall("INSERT INTO records_position AS position (a) VALUES (1) ON CONFLICT (a) DO UPDATE "
                          "SET a = 2 RETURNING position.id") == ["records_position"]
    assert _WRITE.findall('SELECT 1 FROM "records_trade" FOR UPDATE OF "records_trade"') == []
    assert _WRITE.findall('SELECT 1 FROM "records_trade" FOR NO KEY UPDATE') == []
    assert _WRITE.findall('UPDATE "records_trade" SET status = 1') == ["records_trade"]


class WriteWatcher:
    """Collect the tables each SQL statement writes (the execute_wrapper hook).

    Writes inside a savepoint that is rolled back (a maker-checker dry run) are dropped with it.
    """

    def __init__(self):
        self.frames: list[tuple[str, set[str]]] = [("", set())]

    @property
    def tables(self) -> set[str]:
        return self.frames[0][1]

    def _frame(self, sql: str) -> int:
        name = sql.split()[-1].strip('"`')
        return next(n for n, (frame, _) in enumerate(self.frames) if frame == name)

    def __call__(self, execute, sql, params, many, context):
        statement = " ".join(sql.split()[:3]).upper()
        if statement.startswith("SAVEPOINT"):
            self.frames.append((sql.split()[-1].strip('"`'), set()))
        elif statement.startswith("ROLLBACK TO SAVEPOINT"):
            n = self._frame(sql)  # the savepoint stays; what was written since it is undone
            del self.frames[n + 1:]
            self.frames[n][1].clear()
        elif statement.startswith("RELEASE SAVEPOINT"):
            n = self._frame(sql)
            for _, written in self.frames[n:]:
                self.frames[n - 1][1].update(written)
            del self.frames[n:]
        else:
            self.frames[-1][1].update(_WRITE.findall(sql))
        return execute(sql, params, many, context)


def labels_by_table() -> dict[str, str]:
    return {model._meta.db_table: model._meta.label_lower for model in apps.get_models(include_auto_created=True)}


@pytest.fixture
def walk_world(db, instruments, accounts, counterparties):
    """The firm the writers are walked in (not helpers_approvals.world, the maker-checker tests' own)."""
    maker = make_user("maker", "front_office", "operations")
    checker = make_user("checker", "operations", "compliance")
    with transaction.atomic():
        cash.cash_movement_create(actor="test", account=accounts["ACC-001"], currency="USD",
                                  amount=Decimal("100000000"), value_date=TRADE_DATE, reference="WALK-FUND")
    return World(maker=maker, checker=checker, instruments=instruments, accounts=accounts,
                 counterparties=counterparties)


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_the_writer_leaves_an_audit_record_for_every_table_it_changes(name, walk_world):
    setup, call = WRITERS[name]
    with transaction.atomic():
        context = setup(walk_world) if setup else None
    last = AuditRecord.objects.order_by("-id").values_list("id", flat=True).first() or 0
    watcher = WriteWatcher()
    with connection.execute_wrapper(watcher), transaction.atomic():
        call(walk_world, context)

    labels = labels_by_table()
    written = {table for table in watcher.tables
               if table not in AUDIT_TABLES and not table.startswith(INFRASTRUCTURE_PREFIXES)}
    assert written, f"{name} wrote nothing: the scenario does not exercise it"
    new = AuditRecord.objects.filter(id__gt=last)
    audited = set(new.values_list("record_type", flat=True))
    for tombstone in new.filter(action=retention.PURGE_ACTION):
        audited |= set((tombstone.after or {}).get("deleted", {}))
    changed = {labels.get(table, table) for table in written}
    missing = {AUDITED_WITH_PARENT.get(label, label) for label in changed} - audited
    assert not missing, f"{name} changed {sorted(missing)} without an audit record of them"


def test_position_moves_are_audited_with_exact_before_and_after_values(walk_world):
    from records.positions.models import Position

    walk_world.trade(ref="POS-1", side="BUY", quantity="100")
    trades.trade_submit_batch(submitted_by=walk_world.maker, items=[
        (0, TradeInput(external_ref="POS-2", account="ACC-001", counterparty="BRKR-A", instrument=APPLE, side="SELL",
                       quantity=Decimal("30"), price=Decimal("190"), trade_date=TRADE_DATE)),
        (1, TradeInput(external_ref="POS-3", account="ACC-001", counterparty="BRKR-A", instrument=APPLE, side="BUY",
                       quantity=Decimal("5.5"), price=Decimal("190"), trade_date=TRADE_DATE))])
    position = Position.objects.get(account=walk_world.accounts["ACC-001"], instrument=walk_world.instruments["AAPL"])
    trail = list(AuditRecord.objects.filter(record_type="records.position", record_id=str(position.pk))
                 .order_by("id").values_list("before", "after"))
    ids = {"account_id": position.account_id, "instrument_id": position.instrument_id}

    def quantities(traded, receipt, delivery):
        return {**ids, "traded_quantity": traded, "settled_quantity": "0", "pending_receipt": receipt,
                "pending_delivery": delivery}

    assert trail == [(quantities("0", "0", "0"), quantities("100", "100", "0")),
                     (quantities("100", "100", "0"), quantities("75.5", "105.5", "30"))]
    records = list(AuditRecord.objects.filter(record_type__in=("records.position", "records.trade")))
    assert len(records) == 5  # three trades booked, two position moves
    for record in records:
        assert content_hash(record) == record.content_hash

