"""What the instruction tests share: netting's firm (tests/clearing/helpers_netting.py), SSIs and cash.

Counterparties: NSCC (a CCP, locked-in), BRKR-A (clears through NSCC, netted once matched), BRKR-B (bilateral,
locked-in), BRKR-C (bilateral, netted once matched). Instruments: AAPL and MSFT (XNAS, USD), SAP (XETR, EUR),
VOD (XLON, GBP). Test modules import the fixtures they use from here.
"""

from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction

from records.cash.models import CashBalance
from records.cash.services import cash_movement_create
from records.reference.models import Counterparty, Market
from settlements.instructions.services import ssis
from settlements.models import SettlementInstruction, StandingSettlementInstruction
from tests.clearing.helpers_netting import SETTLES, SETTLES_EU, TRADE_DATE, Firm, firm, net
from tests.conftest import make_user

DTC = "DTCYUS33"  # The Depository Trust Company
CLEARSTREAM = "DAKVDEFF"  # Clearstream Banking Frankfurt
CREST = "CRSTGB22"  # Euroclear UK & International (CREST)
AGENT = "CITIUS33"  # Citibank N.A., New York
AGENT_EU = "DEUTDEFF"  # Deutsche Bank AG, Frankfurt


def add_ssi(counterparty: str, market: str | None = "XNAS", *, effective_from: date = date(2026, 1, 1),
            effective_to: date | None = None, depository: str = DTC, agent: str = AGENT,
            account: str = "SAFE-1") -> StandingSettlementInstruction:
    """Create an SSI directly through the service (what an approved ssi.change does)."""
    with transaction.atomic():
        return ssis.ssi_create(
            actor="test", counterparty=Counterparty.objects.get(code=counterparty),
            market=Market.objects.get(mic=market) if market else None, depository_bic=depository,
            place_of_settlement_bic=depository, agent_bic=agent, safekeeping_account=account,
            effective_from=effective_from, effective_to=effective_to)


def fund(account, currency: str, amount: str, reference: str) -> None:
    with transaction.atomic():
        cash_movement_create(actor="test", account=account, currency=currency, amount=Decimal(amount),
                             value_date=TRADE_DATE, reference=reference)


def reserved(account_code: str, currency: str = "USD") -> Decimal | None:
    return (CashBalance.objects.filter(account__code=account_code, currency=currency)
            .values_list("reserved", flat=True).first())


def instruction(**key) -> SettlementInstruction:
    return SettlementInstruction.objects.select_related("account", "counterparty", "instrument", "ssi").get(**key)


@pytest.fixture
def ops_pair(db):
    """Two operations users: one proposes, the other approves."""
    return make_user("maker-ops", "operations"), make_user("checker-ops", "operations")


__all__ = ["SETTLES", "SETTLES_EU", "Firm", "firm", "net"]
