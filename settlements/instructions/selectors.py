"""Reads of settlements' instructions: the settlement queue, an instruction and what it settles, standing instructions.

The dashboards and the API filter with keyword arguments already parsed (None: do not filter).
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Count, F, Q, QuerySet, Sum

from clearing.models import NettedTrade
from clearing.netting import selectors as netting_selectors
from records.reference.models import Counterparty, Market
from records.trades.models import Trade
from settlements.models import (
    SettlementFail,
    SettlementInstruction,
    SettlementMovement,
    StandingSettlementInstruction,
)

Status = SettlementInstruction.Status
# What an instruction may still have changed by operations (allow-partial): not once it settled, in part or
# in whole, nor once cancelled.
ALLOW_PARTIAL_LOCKED = (Status.SETTLED, Status.PARTIAL, Status.CANCELLED)
# A counterparty's failure can be recorded on any instruction not settled and not cancelled.
COUNTERPARTY_FAIL_LOCKED = (Status.SETTLED, Status.CANCELLED)
# The hold reason of an instruction no standing settlement instruction covers.
NO_SSI = "no standing settlement instruction for {counterparty} in {market}"


# --- instructions ---

def instruction_list(*, settlement_date: date | None = None, date_from: date | None = None,
                     date_to: date | None = None, status: str | None = None, account=None, counterparty=None,
                     instruments=None, direction: str | None = None, currency: str | None = None,
                     obligation_id: int | None = None) -> QuerySet[SettlementInstruction]:
    """Return settlement instructions, newest first, with what a list shows of them (one query).

    account and counterparty are records, instruments a list of them.
    """
    rows = (SettlementInstruction.objects
            .select_related("account", "counterparty", "instrument", "ssi", "ssi__counterparty", "ssi__market")
            .order_by("-id"))
    if settlement_date:
        rows = rows.filter(settlement_date=settlement_date)
    if date_from:
        rows = rows.filter(settlement_date__gte=date_from)
    if date_to:
        rows = rows.filter(settlement_date__lte=date_to)
    if status:
        rows = rows.filter(status=status)
    if account is not None:
        rows = rows.filter(account=account)
    if counterparty is not None:
        rows = rows.filter(counterparty=counterparty)
    if instruments is not None:
        rows = rows.filter(instrument__in=instruments)
    if direction:
        rows = rows.filter(direction=direction)
    if currency:
        rows = rows.filter(currency=currency)
    if obligation_id:
        rows = rows.filter(obligation_id=obligation_id)
    return rows


def instruction_get(instruction_id: int) -> SettlementInstruction | None:
    return instruction_list().filter(pk=instruction_id).first()


def instruction_of_trade(trade_id: int) -> SettlementInstruction | None:
    """The instruction settling a trade gross, if it was instructed gross."""
    return SettlementInstruction.objects.filter(trade_id=trade_id).first()


def instruction_queue_order(rows: QuerySet[SettlementInstruction]) -> QuerySet[SettlementInstruction]:
    """The queue's order: by settlement date (oldest still open first), then held ones first, then by id."""
    return rows.order_by("settlement_date", "status", "id")


@dataclass(frozen=True)
class CurrencyTotals:
    """The instructions of one currency in a set: how many, securities to receive and deliver, cash in and out."""

    currency: str
    instructions: int
    held: int
    receive_quantity: Decimal
    deliver_quantity: Decimal
    cash_in: Decimal
    cash_out: Decimal  # what the accounts pay, as a positive amount


def instruction_totals(rows: QuerySet[SettlementInstruction]) -> list[CurrencyTotals]:
    """Sum a set of instructions per currency (amounts in different currencies are never added), in one query."""
    figures = (rows.order_by().values("currency").order_by("currency").annotate(
        instructions=Count("id"), held=Count("id", filter=Q(status=Status.HELD)),
        receive_quantity=Sum("quantity", filter=Q(direction="RECEIVE"), default=0),
        deliver_quantity=Sum("quantity", filter=Q(direction="DELIVER"), default=0),
        cash_in=Sum("cash_amount", filter=Q(cash_amount__gt=0), default=0),
        cash_out=Sum("cash_amount", filter=Q(cash_amount__lt=0), default=0)))
    return [CurrencyTotals(currency=row["currency"], instructions=row["instructions"], held=row["held"],
                           receive_quantity=row["receive_quantity"], deliver_quantity=row["deliver_quantity"],
                           cash_in=row["cash_in"], cash_out=-row["cash_out"]) for row in figures]


def instruction_status_counts(rows: QuerySet[SettlementInstruction]) -> dict[str, int]:
    """Return {status: count} over a set of instructions (every status, zero when none)."""
    counts = dict(rows.order_by().values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    return {status: counts.get(status, 0) for status in Status.values}


def instruction_trades(instruction: SettlementInstruction) -> list[Trade]:
    """The trades an instruction settles: its obligation's netted trades, or its own gross trade."""
    if instruction.obligation_id is not None:
        obligation = netting_selectors.obligation_get(instruction.obligation_id)
        return list(netting_selectors.obligation_trades(obligation)) if obligation is not None else []
    return list(Trade.objects.filter(pk=instruction.trade_id)
                .select_related("account", "counterparty", "counterparty__clears_through", "instrument"))


def instruction_movements(instruction: SettlementInstruction) -> list[SettlementMovement]:
    """What the settlement runs settled of the instruction, oldest first."""
    return list(SettlementMovement.objects.filter(instruction=instruction).select_related("run").order_by("id"))


def instruction_fail(instruction: SettlementInstruction) -> SettlementFail | None:
    """The instruction's fail, if it failed (open or closed)."""
    return SettlementFail.objects.filter(instruction=instruction).first()


def instruction_trade_ids(instructions) -> dict[int, list[int]]:
    """Return {instruction id: the ids of the trades it settles} for a list of instructions (one query)."""
    by_obligation = {i.obligation_id: i.pk for i in instructions if i.obligation_id is not None}
    found = {i.pk: ([i.trade_id] if i.trade_id is not None else []) for i in instructions}
    if by_obligation:
        for trade_id, obligation_id in (NettedTrade.objects.filter(obligation_id__in=list(by_obligation))
                                        .order_by("trade_id").values_list("trade_id", "obligation_id")):
            found[by_obligation[obligation_id]].append(trade_id)
    return found


# --- standing settlement instructions ---

def ssi_list(*, counterparty: Counterparty | None = None, market: Market | None = None, any_market: bool = False,
             active_on: date | None = None) -> QuerySet[StandingSettlementInstruction]:
    """Return standing settlement instructions by counterparty, market (any_market: the market-null ones), start.

    active_on: only those effective on that date.
    """
    rows = (StandingSettlementInstruction.objects.select_related("counterparty", "market")
            .order_by("counterparty__code", "market__mic", "-effective_from", "id"))
    if counterparty is not None:
        rows = rows.filter(counterparty=counterparty)
    if any_market:
        rows = rows.filter(market__isnull=True)
    elif market is not None:
        rows = rows.filter(market=market)
    if active_on is not None:
        rows = rows.filter(ssi_effective_on(active_on))
    return rows


def ssi_effective_on(day: date, prefix: str = "") -> Q:
    """The condition of an SSI effective on day."""
    return (Q(**{f"{prefix}effective_from__lte": day})
            & (Q(**{f"{prefix}effective_to__isnull": True}) | Q(**{f"{prefix}effective_to__gte": day})))


def ssi_get(ssi_id) -> StandingSettlementInstruction | None:
    if isinstance(ssi_id, bool) or not isinstance(ssi_id, int):
        return None
    return StandingSettlementInstruction.objects.select_related("counterparty", "market").filter(pk=ssi_id).first()


def ssi_covering(*, counterparty_id: int, market_mic: str, day: date) -> StandingSettlementInstruction | None:
    """Return the SSI an instruction with this counterparty, market and settlement date settles under.

    The counterparty's SSI for the market effective on the day, else its SSI for any market (market
    null); among several effective ones, the one that started last. The same rule as the SQL of
    services.instructions (SSI_FOR).
    """
    return (StandingSettlementInstruction.objects.select_related("counterparty", "market")
            .filter(ssi_effective_on(day), Q(market__mic=market_mic) | Q(market__isnull=True),
                    counterparty_id=counterparty_id)
            .order_by(F("market_id").asc(nulls_last=True), "-effective_from").first())


def ssi_instruction_counts(ssis) -> dict[int, dict[str, int]]:
    """Return {ssi id: {status: instructions}} for a list of SSIs (one query)."""
    counts: dict[int, dict[str, int]] = {}
    for ssi_id, status, n in (SettlementInstruction.objects.filter(ssi_id__in=[s.pk for s in ssis]).order_by()
                              .values_list("ssi_id", "status").annotate(n=Count("id"))
                              .values_list("ssi_id", "status", "n")):
        counts.setdefault(ssi_id, {})[status] = n
    return counts


def held_without_ssi(*, counterparty=None) -> QuerySet[SettlementInstruction]:
    """The instructions held because no SSI covers them (what approving an SSI may release)."""
    rows = instruction_list(status=Status.HELD).filter(ssi__isnull=True)
    return rows.filter(counterparty=counterparty) if counterparty is not None else rows
