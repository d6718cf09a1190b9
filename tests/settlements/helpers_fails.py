"""What the fails, penalties and ISO 20022 tests share: a desk that books trades and builds their settlement
instructions, standing settlement instructions and fails directly (the instruction and run services are
other work in progress), and prices.

Counterparties: NSCC (a CCP), BRKR-A (clears through NSCC), BRKR-B and BRKR-C (bilateral). Each has a
default SSI at DTC and, BRKR-A, one per European market. Test modules import the fixtures they use.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from stdnum.iso7064 import mod_97_10

from records.reference.models import Counterparty, Market
from records.reference.services import reference
from records.trades import services as trades
from records.trades.models import Trade
from settlements.models import SettlementFail, SettlementInstruction, StandingSettlementInstruction
from tests.conftest import APPLE, MICROSOFT, SAP, VODAFONE, make_user
from tests.data import price as price_upsert

TRADE_DATE = date(2026, 11, 20)  # a Friday: every market trades
US_SETTLES = date(2026, 11, 23)  # Monday: US equities settle T+1
EU_SETTLES = date(2026, 11, 24)  # Tuesday: EU and UK equities T+2
ISINS = {"AAPL": APPLE, "MSFT": MICROSOFT, "SAP": SAP, "VOD": VODAFONE}
TREASURY = "US91282CJL55"  # a US Treasury note
BUND = "DE0001102580"  # a German federal bond


def lei(body: str) -> str:
    return body + mod_97_10.calc_check_digits(body)


# Depository, place of settlement, the counterparty's agent and its account there, per market (None: default).
SSI_DATA = {
    None: ("DTCYUS33", "DTCYUS33", "IRVTUS3NXXX", "DTC-0901"),
    "XETR": ("DAKVDEFFXXX", "DAKVDEFFXXX", "DEUTDEFFXXX", "CBF-7001"),
    "XLON": ("CRSTGB22XXX", "CRSTGB22XXX", "BARCGB22XXX", "CREST-RA01"),
}


@dataclass
class Desk:
    maker: object
    ops: object
    instruments: dict
    accounts: dict
    counterparties: dict
    refs: int = 0

    def trade(self, symbol="AAPL", side="SELL", quantity="100", price="189.25", *, account="ACC-001",
              counterparty="BRKR-A", trade_date=TRADE_DATE) -> Trade:
        """Book a trade through capture; return it."""
        self.refs += 1
        item = trades.TradeInput(external_ref=f"FAIL-{self.refs}", account=account, counterparty=counterparty,
                                 instrument=self.instruments[symbol].isin, side=side, quantity=Decimal(quantity),
                                 price=Decimal(price), trade_date=trade_date)
        with transaction.atomic():
            result = trades.trade_submit_batch(submitted_by=self.maker, items=[(0, item)])[0]
        assert result.status == trades.CREATED, result
        return Trade.objects.get(pk=result.trade_id)

    def ssi(self, counterparty: str, market: str | None) -> StandingSettlementInstruction | None:
        ssis = StandingSettlementInstruction.objects.filter(counterparty__code=counterparty)
        return ssis.filter(market__mic=market).first() or ssis.filter(market__isnull=True).first()

    def instruction(self, symbol="AAPL", side="SELL", quantity="100", price="189.25", *, account="ACC-001",
                    counterparty="BRKR-A", trade_date=TRADE_DATE, ssi=True, payment="APMT", status="FAILED",
                    settled_quantity="0", settled_cash="0", allow_partial=True, cash_amount=None,
                    settlement_date=None) -> SettlementInstruction:
        """A gross trade's settlement instruction, as the instruction service would build it."""
        trade = self.trade(symbol, side, quantity, price, account=account, counterparty=counterparty,
                           trade_date=trade_date)
        instrument = self.instruments[symbol]
        value = trade.quantity * trade.price
        cash = Decimal(0) if payment == "FREE" else (value if side == "SELL" else -value).quantize(Decimal("0.0001"))
        now = timezone.now()
        return SettlementInstruction.objects.create(
            trade=trade, account=trade.account, counterparty=trade.counterparty, instrument=instrument,
            settlement_date=settlement_date or trade.settlement_date,
            direction="DELIVER" if side == "SELL" else "RECEIVE", payment=payment, quantity=trade.quantity,
            cash_amount=cash if cash_amount is None else Decimal(cash_amount), currency=trade.currency,
            settled_quantity=Decimal(settled_quantity), settled_cash=Decimal(settled_cash),
            allow_partial=allow_partial, ssi=self.ssi(counterparty, instrument.market_id) if ssi else None,
            status=status, created_at=now, updated_at=now)

    def fail(self, instruction: SettlementInstruction | None = None, *, cause="SECURITIES", failed_on=None,
             unsettled=None, closed_on=None, regsho_basis="", close_out_deadline=None,
             **instruction_options) -> SettlementFail:
        """A fail of the instruction (a new one built from instruction_options when none), as a run records it."""
        instruction = instruction or self.instruction(**instruction_options)
        now = timezone.now()
        return SettlementFail.objects.create(
            instruction=instruction, kind=instruction.direction, cause=cause,
            failed_on=failed_on or instruction.settlement_date,
            unsettled_quantity=Decimal(unsettled) if unsettled is not None else (
                instruction.quantity - instruction.settled_quantity),
            regsho_basis=regsho_basis, close_out_deadline=close_out_deadline, closed_on=closed_on,
            created_at=now, updated_at=now)

    def price(self, symbol: str, day: date, value: str) -> None:
        with transaction.atomic():
            price_upsert(self.instruments[symbol], day, value)


@pytest.fixture
def desk(instruments, accounts, counterparties) -> Desk:
    with transaction.atomic():
        reference.counterparty_create(actor="test", code="BRKR-B", name="Broker B", lei=lei("5299000BRKRB000000"),
                                      requires_matching=False)
        reference.counterparty_create(actor="test", code="BRKR-C", name="Broker C", lei=lei("5299000BRKRC000000"))
        instruments = {**instruments,
                       "UST": reference.instrument_create(actor="test", isin=TREASURY, symbol="T 4 02/15/34",
                                                          name="US Treasury 4% 2034", asset_class="GOVT_BOND",
                                                          currency="USD", market="XNYS"),
                       "BUND": reference.instrument_create(actor="test", isin=BUND, symbol="DBR 2.6 08/15/33",
                                                           name="Bund 2.6% 2033", asset_class="GOVT_BOND",
                                                           currency="EUR", market="XETR")}
        for counterparty in Counterparty.objects.all():
            for market, (depository, place, agent, account) in SSI_DATA.items():
                if market is not None and counterparty.code != "BRKR-A":
                    continue
                StandingSettlementInstruction.objects.create(
                    counterparty=counterparty, market=Market.objects.get(mic=market) if market else None,
                    depository_bic=depository, place_of_settlement_bic=place, agent_bic=agent,
                    safekeeping_account=account, effective_from=date(2020, 1, 1))
    return Desk(maker=make_user("oms", "front_office"), ops=make_user("settler", "operations"),
                instruments=instruments, accounts=accounts,
                counterparties={c.code: c for c in Counterparty.objects.all()})
