"""Settlement for the demo firm: SSIs of the demo counterparties and settlement runs of past dates.

``manage.py load_settlement_demo`` after ``load_clearing_demo`` (``make run`` runs them in that order).
Deterministic for a seed and safe to run again: an SSI is created only where the counterparty has none
for that market, a counterparty's failure is recorded only on an instruction still pending, and a
settlement date is settled only while it has no completed run. Everything goes through the services
(audited):

1. standing settlement instructions (settlements.instructions.services.ssis.ssi_create) for every
   settlement counterparty of the demo (NSCC, where novated US trades settle; the bilateral dealers),
   one for any market and, for the dealers, one per European market; creating them releases the
   instructions the clearing runs left HELD for want of one;
2. a few counterparty failures recorded on the latest past date's receipts (a broker that did not
   deliver), so the fails pages have a counterparty's fail to show besides the firm's own;
3. cash for what the accounts owe in currencies the demo did not fund them in (records' cash
   service, audited), one account and currency only in part;
4. every past settlement date with open instructions settled by a settlement run, oldest first, so
   that a fail of one date is retried by the next. Accounts that sold what they did not hold, or
   bought beyond their cash, are left with partials (where allowed) and fails.
"""

import datetime as dt
import random
import uuid
from dataclasses import dataclass, field
from decimal import ROUND_UP, Decimal

from django.db import transaction
from django.db.models import Max, Min
from django.utils import timezone

from backoffice.core.context import correlation
from backoffice.core.jobs.models import JobRun
from backoffice.core.jobs.services import job_run_execute
from records.cash.models import CashBalance, CashMovement
from records.cash.services import cash_movement_create
from records.demo import DEFAULT_SEED
from records.reference.models import Counterparty, Market
from records.reference.validators import currency_exponent
from settlements.instructions.services.instructions import instruction_counterparty_fail
from settlements.instructions.services.ssis import ssi_create
from settlements.models import SettlementInstruction, SettlementRun, StandingSettlementInstruction
from settlements.runs.selectors import SETTLEMENT_RUN
from settlements.runs.services import settlement_markets, settlement_run_create

DEMO_ACTOR = "job:load_settlement_demo"
SSI_FROM = dt.date(2020, 1, 2)
COUNTERPARTY_FAILS = 3  # receipts of the latest past date whose counterparty fails to deliver


@dataclass(frozen=True)
class DemoSSI:
    counterparty: str
    market: str | None  # None: any market
    depository: str
    agent: str
    account: str


DTC, CREST, CLEARSTREAM = "DTCYUS33", "CRSTGB22", "DAKVDEFF"
SSIS: tuple[DemoSSI, ...] = (
    # The CCP: every novated US trade settles against it at DTC.
    DemoSSI("NSCC", None, DTC, DTC, "NSCC-0001"),
    # Bilateral dealers: US (bonds) at DTC by default; UK at CREST, German at Clearstream.
    DemoSSI("GSI", None, DTC, "GOLDUS33", "GSI-DTC-7781"),
    DemoSSI("GSI", "XLON", CREST, "GOLDGB2L", "GSI-CREST-3301"),
    DemoSSI("GSI", "XETR", CLEARSTREAM, "GOLDDEFF", "GSI-CBF-4410"),
    DemoSSI("JPMSPLC", None, DTC, "CHASUS33", "JPMS-DTC-1120"),
    DemoSSI("JPMSPLC", "XLON", CREST, "CHASGB2L", "JPMS-CREST-0042"),
    DemoSSI("JPMSPLC", "XETR", CLEARSTREAM, "CHASDEFX", "JPMS-CBF-5519"),
    DemoSSI("BARC", None, DTC, "BARCUS33", "BARC-DTC-2207"),
    DemoSSI("BARC", "XLON", CREST, "BARCGB22", "BARC-CREST-8814"),
    DemoSSI("BARC", "XETR", CLEARSTREAM, "BARCDEFF", "BARC-CBF-3385"),
    DemoSSI("DBAG", None, DTC, "BKTRUS33", "DBAG-DTC-6650"),
    DemoSSI("DBAG", "XLON", CREST, "DEUTGB2L", "DBAG-CREST-2271"),
    DemoSSI("DBAG", "XETR", CLEARSTREAM, "DEUTDEFF", "DBAG-CBF-0009"),
)


@dataclass
class SettlementDemoSummary:
    ssis_created: int = 0
    ssis_found: int = 0
    counterparty_fails: int = 0
    cash_funded: int = 0
    runs: list = field(default_factory=list)
    deferred: bool = False  # the settlement runs left to the end of day (runs=False)

    def lines(self) -> list[str]:
        lines = [f"SSIs             {self.ssis_created} created, {self.ssis_found} already there",
                 f"counterparty     {self.counterparty_fails} failure{'s' if self.counterparty_fails != 1 else ''} "
                 "recorded",
                 f"cash             {self.cash_funded} account currenc{'ies' if self.cash_funded != 1 else 'y'} funded"]
        for day, settled, partial, failed in self.runs:
            lines.append(f"settlement {day}  {settled} settled, {partial} partially settled, {failed} failed")
        if self.deferred:
            lines.append("settlement       left to the end of day (load_eod_demo)")
        elif not self.runs:
            lines.append("settlement       every past settlement date already settled")
        return lines


def _load_ssis(summary: SettlementDemoSummary) -> None:
    counterparties = {c.code: c for c in Counterparty.objects.filter(code__in={s.counterparty for s in SSIS})}
    markets = {m.mic: m for m in Market.objects.filter(mic__in={s.market for s in SSIS if s.market})}
    have = set(StandingSettlementInstruction.objects.values_list("counterparty__code", "market_id"))
    for spec in SSIS:
        counterparty = counterparties.get(spec.counterparty)
        market = markets.get(spec.market) if spec.market else None
        if counterparty is None or (spec.market and market is None):
            continue  # load_demo has not created it
        if (spec.counterparty, market.pk if market else None) in have:
            summary.ssis_found += 1
            continue
        ssi_create(actor=DEMO_ACTOR, counterparty=counterparty, market=market, depository_bic=spec.depository,
                   place_of_settlement_bic=spec.depository, agent_bic=spec.agent,
                   safekeeping_account=spec.account, effective_from=SSI_FROM,
                   reason="demo: the counterparty's standing settlement instruction")
        summary.ssis_created += 1


def _cover_cash(summary: SettlementDemoSummary, seed: int) -> None:
    """Fund what the accounts owe in currencies they hold too little of, as their treasury would (FX bought).

    The demo funds each account in its own currencies only, and its clients buy abroad. What is
    reserved for their payments beyond balance and credit limit is deposited with 5% to spare, once
    per account and currency (reference DEMO-SETTLE-FX-<account>-<currency>); one of them, picked by
    the seed, gets only 60% of it, so a run leaves partials and fails of cash.
    """
    short = [(b.account, b.currency, b.reserved - b.balance - b.account.credit_limit)
             for b in CashBalance.objects.select_related("account").order_by("account__code", "currency")
             if b.reserved - b.balance - b.account.credit_limit > 0]
    if not short:
        return
    lean = random.Random(f"{seed}:lean").choice(short)[:2]
    for account, currency, shortfall in short:
        reference = f"DEMO-SETTLE-FX-{account.code}-{currency}"
        if CashMovement.objects.filter(reference=reference).exists():
            continue
        share = Decimal("0.60") if (account, currency) == lean else Decimal("1.05")
        amount = (shortfall * share).quantize(Decimal(1).scaleb(-currency_exponent(currency)), rounding=ROUND_UP)
        if amount <= 0 or account.status != account.Status.ACTIVE:
            continue
        with transaction.atomic():
            cash_movement_create(actor=DEMO_ACTOR, account=account, currency=currency, amount=amount,
                                 value_date=SSI_FROM, reference=reference,
                                 description=f"FX bought for settlement ({currency})",
                                 reason="demo: cash for the instructions the account pays")
        summary.cash_funded += 1


def _past_dates(today: dt.date) -> list[dt.date]:
    """Every settlement day from the oldest open instruction's date to yesterday without a completed run, oldest first.

    A day with no instruction of its own still retries the open ones due before it.
    """
    first = (SettlementInstruction.objects.filter(settlement_date__lt=today,
                                                  status__in=SettlementInstruction.OPEN_STATUSES)
             .aggregate(first=Min("settlement_date"))["first"])
    if first is None:
        return []
    settled = set(SettlementRun.objects.filter(job__kind=SETTLEMENT_RUN, job__status=JobRun.Status.COMPLETED)
                  .values_list("settlement_date", flat=True))
    days = (first + dt.timedelta(days=n) for n in range((today - first).days))
    return [day for day in days if day not in settled and settlement_markets(day)]


def _record_counterparty_fails(summary: SettlementDemoSummary, today: dt.date, seed: int) -> None:
    """A few brokers fail to deliver on the latest past date: receipts still pending, picked by the seed."""
    latest = (SettlementInstruction.objects.filter(settlement_date__lt=today)
              .aggregate(latest=Max("settlement_date"))["latest"])
    if latest is None:
        return
    receipts = list(SettlementInstruction.objects.filter(
        settlement_date=latest, status=SettlementInstruction.Status.PENDING,
        direction=SettlementInstruction.Direction.RECEIVE, counterparty_failed_at__isnull=True)
        .order_by("id").values_list("id", flat=True))
    already = SettlementInstruction.objects.filter(settlement_date=latest, counterparty_failed_at__isnull=False).count()
    rng = random.Random(f"{seed}:counterparty-fails")
    for instruction_id in rng.sample(receipts, max(0, min(COUNTERPARTY_FAILS - already, len(receipts)))):
        with transaction.atomic():
            instruction_counterparty_fail(actor=DEMO_ACTOR, instruction_id=instruction_id,
                                          reason="demo: the delivering broker is short (their status message)")
        summary.counterparty_fails += 1


def load_settlement_demo(*, seed: int = DEFAULT_SEED, today: dt.date | None = None,
                         runs: bool = True) -> SettlementDemoSummary:
    """Create the demo SSIs, record a few counterparty failures and settle every past date not settled yet.

    With runs=False it stops before the settlement runs: the end of day (load_eod_demo) settles the dates.
    """
    summary = SettlementDemoSummary(deferred=not runs)
    today = today or timezone.localdate()
    with correlation(f"{DEMO_ACTOR}:{uuid.uuid4().hex[:12]}"):
        with transaction.atomic():
            _load_ssis(summary)
        _record_counterparty_fails(summary, today, seed)
        _cover_cash(summary, seed)
        for day in _past_dates(today) if runs else ():
            with transaction.atomic():
                run = settlement_run_create(settlement_date=day, started_by=DEMO_ACTOR)
            job_run_execute(job_id=run.job_id)
            run.refresh_from_db()
            summary.runs.append((day.isoformat(), run.settled, run.partial, run.failed))
    return summary
