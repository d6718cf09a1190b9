"""What the settlement-run tests share: trades booked through capture, netted by clearing, instructed, funded.

The firm is netting's (tests/clearing/helpers_netting.py): accounts ACC-001 (credit limit 1,000 USD) and HOUSE;
counterparties NSCC (a CCP, locked-in), BRKR-A (clears through NSCC, needs matching), BRKR-B (bilateral,
locked-in), BRKR-C (bilateral, needs matching); AAPL and MSFT (XNAS, USD, settle T+1: SETTLES), SAP (XETR, EUR)
and VOD (XLON, GBP) settle T+2 (SETTLES_EU). Trades are booked, netted by a clearing run (its own steps only),
and each obligation instructed here as the instructions step does (settlements/instructions): direction from
the net quantity, APMT unless the net cash is 0, cash reserved for those that pay.
"""

from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from backoffice.core.jobs.services import job_run_execute
from clearing.models import Obligation
from records.cash.models import CashBalance, CashMovement
from records.cash.reservations import cash_reservations_apply
from records.cash.services import cash_movement_create
from records.positions.models import Position, StockMovement
from records.positions.services import stock_movement_create
from records.trades.models import Trade
from settlements.models import SettlementFail, SettlementInstruction, SettlementMovement, SettlementRun
from settlements.runs import services as runs
from tests.clearing.helpers_netting import (
    ISINS,
    SATURDAY,
    SETTLES,
    SETTLES_EU,
    TRADE_DATE,
    Firm,
    firm,
    net,
)

D = Decimal
NEXT_DAY = date(2026, 11, 24)  # the Tuesday after SETTLES: every market settles


def book_and_instruct(firm: Firm, *specs, day: date = SETTLES, allow_partial: bool | None = None,
                      net_day: date | None = None) -> list[SettlementInstruction]:
    """Book trades (account, counterparty, symbol, side, quantity, price), net their date, instruct the obligations.

    Only obligations not instructed yet are instructed; returns the new instructions by id.
    """
    firm.book(*specs)
    with override_settings(JOB_STEP_EXTENSIONS={}):  # the instructions step is replaced by instruct()
        net(net_day or day)
    return instruct(allow_partial=allow_partial)


def instruct(*, allow_partial: bool | None = None) -> list[SettlementInstruction]:
    """Instruct every OPEN obligation as the instructions step would (SSIs aside: PENDING)."""
    now = timezone.now()
    created = []
    reserve: dict[tuple[int, str], Decimal] = {}
    with transaction.atomic():
        for o in Obligation.objects.filter(status="OPEN").select_related("account").order_by("id"):
            direction = "RECEIVE" if o.net_quantity > 0 or (o.net_quantity == 0 and o.net_cash < 0) else "DELIVER"
            payment = "APMT" if o.net_cash != 0 else "FREE"
            created.append(SettlementInstruction.objects.create(
                obligation=o, account_id=o.account_id, counterparty_id=o.counterparty_id, instrument_id=o.instrument_id,
                settlement_date=o.settlement_date, direction=direction, payment=payment, quantity=abs(o.net_quantity),
                cash_amount=o.net_cash, currency=o.currency,
                allow_partial=o.account.allow_partial_settlement if allow_partial is None else allow_partial,
                status="PENDING", created_at=now, updated_at=now))
            if payment == "APMT" and o.net_cash < 0:
                reserve[(o.account_id, o.currency)] = reserve.get((o.account_id, o.currency), D(0)) - o.net_cash
        Obligation.objects.filter(pk__in=[i.obligation_id for i in created]).update(status="INSTRUCTED")
        cash_reservations_apply(reserve, actor="test", reason="instructed")
    return created


def fund(firm: Firm, account: str, amount: str, currency: str = "USD", reference: str | None = None) -> None:
    firm.refs += 1
    with transaction.atomic():
        cash_movement_create(actor="test", account=firm.accounts[account], currency=currency, amount=D(amount),
                             value_date=TRADE_DATE, reference=reference or f"FUND-{firm.refs}")


def hold(firm: Firm, account: str, symbol: str, quantity: str) -> None:
    """An opening position of settled securities."""
    firm.refs += 1
    with transaction.atomic():
        stock_movement_create(actor="test", account=firm.accounts[account], instrument=firm.instruments[symbol],
                              quantity=D(quantity), value_date=TRADE_DATE, reference=f"OPEN-{firm.refs}")


def settle(day: date = SETTLES, *, started_by="test", **params) -> SettlementRun:
    """Create a settlement run of the day and execute it in this process; return it re-read."""
    from backoffice.core.jobs.models import JobRun

    with transaction.atomic():
        run = runs.settlement_run_create(settlement_date=day, started_by=started_by)
    if params:
        JobRun.objects.filter(pk=run.job_id).update(parameters=runs.settlement_parameters(
            {"settlement_date": day.isoformat(), **params}))
    job_run_execute(job_id=run.job_id)
    return SettlementRun.objects.select_related("job").get(pk=run.pk)


def instruction(pk: int) -> SettlementInstruction:
    return SettlementInstruction.objects.get(pk=pk)


def position(firm: Firm, account: str, symbol: str) -> Position:
    return Position.objects.get(account=firm.accounts[account], instrument=firm.instruments[symbol])


def cash(firm: Firm, account: str, currency: str = "USD") -> CashBalance:
    return CashBalance.objects.get(account=firm.accounts[account], currency=currency)


def state() -> dict:
    """Everything a settlement run writes, but the run ids: to compare two ways of getting there."""
    return {
        "instructions": sorted(SettlementInstruction.objects.values_list(
            "id", "status", "settled_quantity", "settled_cash")),
        "movements": sorted(SettlementMovement.objects.values_list(
            "instruction_id", "account_id", "instrument_id", "currency", "quantity", "cash", "value_date")),
        "positions": sorted(Position.objects.values_list(
            "account_id", "instrument_id", "traded_quantity", "settled_quantity", "pending_receipt",
            "pending_delivery")),
        "balances": sorted(CashBalance.objects.values_list("account_id", "currency", "balance", "reserved")),
        "cash_movements": sorted(CashMovement.objects.filter(kind="SETTLEMENT").values_list(
            "account_id", "currency", "amount", "value_date")),
        "fails": sorted(SettlementFail.objects.values_list(
            "instruction_id", "kind", "cause", "failed_on", "unsettled_quantity", "closed_on")),
        "obligations": sorted(Obligation.objects.values_list("id", "status")),
        "trades": sorted(Trade.objects.values_list("id", "status", "settled_quantity")),
        "runs": sorted(SettlementRun.objects.values_list("settlement_date", "settled", "partial", "failed")),
    }


def stock_opening() -> dict:
    """Σ stock movements (opening positions) per (account, instrument)."""
    totals: dict = {}
    for account_id, instrument_id, quantity in StockMovement.objects.values_list("account_id", "instrument_id",
                                                                                 "quantity"):
        totals[(account_id, instrument_id)] = totals.get((account_id, instrument_id), D(0)) + quantity
    return totals


@pytest.fixture(autouse=True)
def own_steps_only(settings):
    """Runs and netting with their own steps only: what other apps append to them is theirs to test."""
    settings.JOB_STEP_EXTENSIONS = {}


@pytest.fixture
def funded(firm) -> Firm:
    """The firm with money and stock: ACC-001 and HOUSE hold 1,000,000 USD, 100,000 EUR and GBP, 1,000 of each share."""
    for account in ("ACC-001", "HOUSE"):
        fund(firm, account, "1000000")
        fund(firm, account, "100000", "EUR")
        fund(firm, account, "100000", "GBP")
        for symbol in ("AAPL", "MSFT", "SAP", "VOD"):
            hold(firm, account, symbol, "1000")
    return firm


__all__ = ["ISINS", "SATURDAY", "SETTLES", "SETTLES_EU", "TRADE_DATE", "Firm", "firm", "net"]
