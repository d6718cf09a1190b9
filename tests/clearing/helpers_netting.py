"""What the netting tests share: a firm with counterparties of every kind, trades booked through capture, and runs.

Counterparties: NSCC (a CCP, locked-in trades: no matching), BRKR-A (clears through NSCC, trades netted once
matched), BRKR-B (bilateral, locked-in) and BRKR-C (bilateral, netted once matched). Test modules import the
fixtures they use from here, netting_alone included (tests/clearing has no conftest.py of its own).
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction
from stdnum.iso7064 import mod_97_10

from backoffice.core.jobs.models import JobRun
from backoffice.core.jobs.services import job_run_execute
from clearing.models import ClearingRun, NettedTrade, Obligation
from clearing.netting import services as netting
from records.reference.services import reference
from records.trades import services as trades
from records.trades.models import Trade, TradeEvent
from tests.conftest import APPLE, MICROSOFT, SAP, VODAFONE, make_user

TRADE_DATE = date(2026, 11, 20)  # a Friday: every market trades
SETTLES = date(2026, 11, 23)  # the Monday: US equities settle T+1
SETTLES_EU = date(2026, 11, 24)  # EU and UK equities T+2
SATURDAY = date(2026, 11, 21)
ISINS = {"AAPL": APPLE, "MSFT": MICROSOFT, "SAP": SAP, "VOD": VODAFONE}


def lei(body: str) -> str:
    return body + mod_97_10.calc_check_digits(body)


@dataclass
class Firm:
    maker: object
    ops: object
    instruments: dict
    accounts: dict
    counterparties: dict
    refs: int = 0

    def book(self, *specs, status: str = "BOOKED") -> list[int]:
        """Book trades through capture: (account, counterparty, symbol, side, quantity, price) each; return ids."""
        items = []
        for account, counterparty, symbol, side, quantity, price in specs:
            self.refs += 1
            items.append((len(items), trades.TradeInput(
                external_ref=f"NET-{self.refs}", account=account, counterparty=counterparty,
                instrument=ISINS[symbol], side=side, quantity=Decimal(quantity), price=Decimal(price),
                trade_date=TRADE_DATE)))
        with transaction.atomic():
            results = trades.trade_submit_batch(submitted_by=self.maker, items=items)
        ids = [results[index].trade_id for index, _ in items]
        assert all(results[index].status == trades.CREATED for index, _ in items), results
        if status != "BOOKED":
            Trade.objects.filter(pk__in=ids).update(status=status)
        return ids

    def match(self, ids) -> None:
        Trade.objects.filter(pk__in=ids).update(match_status=Trade.MatchStatus.MATCHED)


@pytest.fixture(autouse=True)
def netting_alone(settings):
    """clearing-netting with its own steps only: the steps other apps append to it (settings.JOB_STEP_EXTENSIONS,
    settlements' instructions) are theirs to test. Active in every module that imports it."""
    settings.JOB_STEP_EXTENSIONS = {}


@pytest.fixture
def firm(instruments, accounts, counterparties) -> Firm:
    with transaction.atomic():
        reference.counterparty_create(actor="test", code="BRKR-B", name="Broker B (locked-in)",
                                      lei=lei("5299000BRKRB000000"), requires_matching=False)
        reference.counterparty_create(actor="test", code="BRKR-C", name="Broker C", lei=lei("5299000BRKRC000000"))
    from records.reference.models import Counterparty

    return Firm(maker=make_user("oms", "front_office"), ops=make_user("netter", "operations"),
                instruments=instruments, accounts=accounts,
                counterparties={c.code: c for c in Counterparty.objects.all()})


def net(day: date = SETTLES, *, started_by="test", **params) -> ClearingRun:
    """Create a clearing run of the day and execute it in this process; return it re-read."""
    with transaction.atomic():
        run = netting.clearing_run_create(settlement_date=day, started_by=started_by)
    if params:
        JobRun.objects.filter(pk=run.job_id).update(parameters=netting.netting_parameters(
            {"settlement_date": day.isoformat(), **params}))
    job_run_execute(job_id=run.job_id)
    return ClearingRun.objects.select_related("job").get(pk=run.pk)


def state() -> dict:
    """Everything netting writes, without the ids a sequence hands out: to compare two ways of getting there."""
    obligation_key = {}
    obligations = []
    for o in Obligation.objects.order_by("account_id", "counterparty_id", "instrument_id", "currency", "id"):
        key = (o.run_id, o.account_id, o.counterparty_id, o.instrument_id, o.settlement_date, o.currency)
        obligation_key[o.pk] = key
        obligations.append((*key, o.net_quantity, o.net_cash, o.trade_count, o.buy_quantity, o.sell_quantity,
                            o.buy_value, o.sell_value, o.status))
    return {
        "obligations": obligations,
        "links": sorted((n.trade_id, obligation_key[n.obligation_id]) for n in NettedTrade.objects.all()),
        "trades": sorted(Trade.objects.values_list("id", "status")),
        "events": sorted(TradeEvent.objects.filter(action="CLEAR").values_list("trade_id", "from_status",
                                                                             "to_status")),
        "runs": sorted(ClearingRun.objects.values_list("id", "settlement_date", "trades_netted", "obligations_created",
                                                       "gross_value", "net_value", "gross_quantity",
                                                       "net_quantity")),
    }
