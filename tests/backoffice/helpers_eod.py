"""What the end-of-day tests share: a day of trades of the netting firm, ready for the EOD of its settlement date.

The firm (tests/clearing/helpers_netting.py) books on TRADE_DATE (a Friday); AAPL and MSFT settle T+1 on SETTLES.
"""

from django.db import transaction

from accounting.models import JournalEntry, JournalLine, ReconciliationRun
from backoffice.core.jobs.models import JobRun
from backoffice.core.jobs.services import job_run_execute
from backoffice.eod import services
from clearing.models import Obligation
from compliance.alerts.models import Alert
from records.trades.models import Trade
from settlements.models import SettlementFail, SettlementInstruction, SettlementMovement
from tests.clearing.helpers_netting import SETTLES, TRADE_DATE, Firm
from tests.data import price
from tests.settlements.helpers_instructions import add_ssi
from tests.settlements.helpers_settlement import fund, hold

STAGE_KINDS = ["clearing-match", "clearing-netting", "settlement-run", "accounting-posting",
               "accounting-mark-to-market", "accounting-reconciliation", "compliance-surveillance"]


def book_a_day(firm: Firm) -> list[int]:
    """Money, stock and prices, then five trades: four locked-in (netted at the EOD), one waiting for its match.

    HOUSE sells 1,500 MSFT holding 1,000: its delivery settles in part and fails for the rest.
    """
    add_ssi("BRKR-B")
    add_ssi("NSCC")
    fund(firm, "ACC-001", "1000000")
    fund(firm, "HOUSE", "1000000")
    hold(firm, "HOUSE", "AAPL", "1000")
    hold(firm, "HOUSE", "MSFT", "1000")
    with transaction.atomic():
        for day in (TRADE_DATE, SETTLES):
            price(firm.instruments["AAPL"], day, "190")
            price(firm.instruments["MSFT"], day, "410")
    return firm.book(("ACC-001", "BRKR-B", "AAPL", "BUY", "100", "190"),
                     ("ACC-001", "NSCC", "MSFT", "BUY", "10", "410"),
                     ("HOUSE", "BRKR-B", "MSFT", "SELL", "1500", "400"),
                     ("HOUSE", "NSCC", "AAPL", "SELL", "200", "191"),
                     ("ACC-001", "BRKR-C", "AAPL", "BUY", "5", "190"))


def run_eod(day=SETTLES, *, started_by="test") -> JobRun:
    """Create an EOD run of the day and execute it in this process; return it re-read."""
    job = services.eod_run_create(settlement_date=day, started_by=started_by)
    job_run_execute(job_id=job.pk)
    return JobRun.objects.get(pk=job.pk)


def children(job: JobRun) -> list[tuple[str, str]]:
    return list(JobRun.objects.filter(parent=job).order_by("id").values_list("kind", "status"))


def outcome() -> dict:
    """What the pipeline writes, by business keys (no ids a sequence hands out): to compare two ways of running it."""
    trade_ref = dict(Trade.objects.values_list("id", "external_ref"))

    def obligation_key(o):
        return (o.account.code, o.counterparty.code, o.instrument.isin, o.settlement_date, o.currency)

    obligations = {o.pk: obligation_key(o) for o in Obligation.objects.select_related(
        "account", "counterparty", "instrument")}
    instructions = {i.pk: obligations[i.obligation_id] for i in SettlementInstruction.objects.all()}
    return {
        "trades": sorted(Trade.objects.values_list("external_ref", "status", "settled_quantity")),
        "obligations": sorted(
            (obligations[o.pk], o.net_quantity, o.net_cash, o.trade_count, o.status)
            for o in Obligation.objects.select_related("account", "counterparty", "instrument")),
        "instructions": sorted(
            (instructions[i.pk], i.direction, i.payment, i.quantity, i.cash_amount, i.status, i.settled_quantity,
             i.settled_cash) for i in SettlementInstruction.objects.all()),
        "movements": sorted((instructions[m.instruction_id], m.quantity, m.cash, m.value_date)
                            for m in SettlementMovement.objects.all()),
        "fails": sorted((instructions[f.instruction_id], f.kind, f.cause, f.failed_on, f.unsettled_quantity)
                        for f in SettlementFail.objects.all()),
        "journal": sorted(
            (line.entry.rule, line.entry.entry_date, line.gl_account.code, line.account.code if line.account else "",
             line.instrument.isin if line.instrument else "", line.currency, line.amount, line.base_amount,
             line.quantity)
            for line in JournalLine.objects.select_related("entry", "gl_account", "account", "instrument")),
        "entries": JournalEntry.objects.count(),
        # Each reconciliation is a record of a check (a second EOD checks again, and finds the same).
        "reconciliations": sorted(set(ReconciliationRun.objects.values_list("as_of", "breaks", "positions_checked",
                                                                            "balances_checked"))),
        "alerts": sorted((a.rule.code, a.dedupe_key, a.business_date, a.state)
                         for a in Alert.objects.select_related("rule")),
        "trade_refs": len(trade_ref),
    }
