"""Reads of the ISO 20022 messages: an instruction with what its sese.023 says; status messages received."""

from dataclasses import dataclass
from datetime import date

from django.db.models import Count, Min, QuerySet

from clearing.models import NettedTrade
from records.trades.models import Trade
from settlements.models import SettlementInstruction, StatusMessage


@dataclass(frozen=True)
class ExportFacts:
    """An instruction and the trades behind it, as its sese.023 needs them.

    trade: the gross trade it settles (None for a net obligation's); trade_date: the gross trade's,
    or the earliest of the obligation's trades (None when none is linked); trade_count: how many.
    """

    instruction: SettlementInstruction
    trade: Trade | None
    trade_date: date | None
    trade_count: int


def instruction_export_facts(instruction_id: int) -> ExportFacts | None:
    """Return what the sese.023 of an instruction is built from, or None when there is no such instruction."""
    instruction = (SettlementInstruction.objects
                   .select_related("account", "counterparty", "instrument__market", "ssi", "trade")
                   .filter(pk=instruction_id).first())
    if instruction is None:
        return None
    if instruction.trade_id is not None:
        return ExportFacts(instruction, instruction.trade, instruction.trade.trade_date, 1)
    if instruction.obligation_id is not None:
        figures = NettedTrade.objects.filter(obligation_id=instruction.obligation_id).aggregate(
            trade_date=Min("trade__trade_date"), trades=Count("trade_id"))
        return ExportFacts(instruction, None, figures["trade_date"], figures["trades"])
    return ExportFacts(instruction, None, None, 0)


def status_message_get(message_id: str) -> StatusMessage | None:
    return StatusMessage.objects.filter(message_id=message_id).first()


def status_messages_of(instruction_id: int) -> QuerySet[StatusMessage]:
    """Return the status messages received for an instruction, newest first."""
    return StatusMessage.objects.filter(instruction_id=instruction_id).select_related("received_by").order_by("-id")
