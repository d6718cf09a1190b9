"""Building blocks of the surveillance tests: trades, cash movements and fails written as the services leave them."""

import itertools
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from backoffice.core.jobs.models import JobRun
from compliance.alerts.models import Alert
from compliance.surveillance import services
from records.cash.models import CashMovement
from records.trades.models import Trade
from settlements.models import SettlementFail, SettlementInstruction

DAY = date(2026, 11, 20)  # a Friday: every market trades
_refs = itertools.count(1)


def book(user, account, instrument, counterparty, side, quantity, price, *, day=DAY, status="BOOKED",
         created_at: datetime | None = None) -> Trade:
    trade = Trade.objects.create(
        external_ref=f"SURV-{next(_refs)}", submitted_by=user, account=account, counterparty=counterparty,
        instrument=instrument, side=side, quantity=Decimal(quantity), price=Decimal(price),
        currency=instrument.currency, trade_date=day, settlement_date=day + timedelta(days=3), status=status,
        request_hash="test")
    if created_at is not None:
        Trade.objects.filter(pk=trade.pk).update(created_at=created_at)
    return trade


def move(account, amount, value_date=DAY, *, currency="USD", kind=None) -> CashMovement:
    amount = Decimal(amount)
    kind = kind or ("DEPOSIT" if amount > 0 else "WITHDRAWAL")
    return CashMovement.objects.create(account=account, currency=currency, amount=amount, value_date=value_date,
                                       kind=kind, reference=f"CM-{next(_refs)}")


def fail(trade: Trade, *, deadline: date, closed_on: date | None = None) -> SettlementFail:
    now = timezone.now()
    instruction = SettlementInstruction.objects.create(
        trade=trade, account=trade.account, counterparty=trade.counterparty, instrument=trade.instrument,
        settlement_date=trade.settlement_date, direction="DELIVER", payment="APMT", quantity=trade.quantity,
        cash_amount=trade.quantity * trade.price, currency=trade.currency, allow_partial=True, status="FAILED",
        created_at=now, updated_at=now)
    return SettlementFail.objects.create(instruction=instruction, kind="DELIVER", cause="SECURITIES",
                                         failed_on=trade.settlement_date, unsettled_quantity=trade.quantity,
                                         regsho_basis="SHORT", close_out_deadline=deadline, closed_on=closed_on,
                                         created_at=now, updated_at=now)


def survey(day=DAY) -> JobRun:
    job = services.surveillance_run_now(trade_date=day, started_by="test")
    assert job.status == JobRun.Status.COMPLETED, job.error
    return job


def alerts(code: str):
    return list(Alert.objects.filter(rule__code=code).order_by("id"))


def step(job: JobRun, name: str) -> dict:
    return next(row for row in job.result if row["step"] == name)
