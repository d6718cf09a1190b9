"""Compliance for the demo firm: a few patterns worth an alert, then the surveillance of every past business day.

``manage.py load_compliance_demo`` after ``load_accounting_demo`` (``make run`` runs them in that order), so
that a new user finds alerts in the queue. Deterministic and safe to run again; everything goes through the
services (audited):

1. patterns the random demo trades rarely make, booked as any client's would be: three deposits just under
   10,000 USD into a family office's account over the last three business days (structuring; the cash
   service, idempotent by reference), and a hedge fund selling part of a US holding and buying it back at
   nearly the same price on the last business day (a wash trade; trade capture, idempotent by external
   reference);
2. the surveillance run (compliance/surveillance, kind compliance-surveillance) of every weekday from the
   first trade date to today without a completed run, oldest first: wash trades, large trades, structuring,
   marking the close, fails past their Reg SHO close-out (the penalty box). A date already surveyed is
   skipped; a rerun would raise nothing twice anyway;
3. the queue as a compliance officer would have worked it: the demo officer (``c.officer``, compliance role,
   no password) has closed, with a disposition, the open alerts about days more than a week back, and taken
   the oldest half of the rest; the latest days' alerts wait unassigned. Only open alerts nobody owns are
   touched, so a rerun changes nothing.
"""

import datetime as dt
import uuid
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from backoffice.core import roles
from backoffice.core.context import correlation
from backoffice.core.exceptions import BusinessRuleError
from backoffice.core.fields import format_decimal
from backoffice.core.jobs.models import JobRun
from compliance.alerts import services as alert_services
from compliance.alerts.models import Alert, AlertState
from compliance.surveillance import selectors as surveillance_selectors
from compliance.surveillance import services as surveillance
from compliance.surveillance.kinds import SURVEILLANCE
from records.cash.models import CashMovement
from records.cash.services import cash_movement_create
from records.demo import demo_oms_user
from records.positions.models import Position
from records.reference.models import Account, Market, Price
from records.reference.services.calendar import is_trading_session
from records.trades.models import Trade

DEMO_ACTOR = "job:load_compliance_demo"
STRUCTURING_ACCOUNT = "CL-FO-001"
STRUCTURING_AMOUNTS = ("9400.00", "9850.00", "9675.00")
WASH_ACCOUNT = "CL-HF-001"
WASH_REF = "DEMO-COMPLIANCE-WASH"
DEMO_OFFICER = "c.officer"
WORKED_AFTER_DAYS = 7
DISPOSITION = ("Reviewed against the client's usual activity and its account documents: no concern, no report "
               "filed (demo).")


@dataclass
class ComplianceDemoSummary:
    planted: list = field(default_factory=list)
    days: list = field(default_factory=list)  # (trade date, raised, already, status)

    worked: tuple[int, int] = (0, 0)  # (closed, assigned)
    deferred: bool = False  # the surveillance left to the end of day (runs=False)

    def lines(self) -> list[str]:
        lines = [f"planted          {item}" for item in self.planted]
        if any(self.worked):
            lines.append(f"alert queue      {self.worked[0]} closed, {self.worked[1]} assigned to {DEMO_OFFICER}")
        if self.deferred:
            return [*lines, "surveillance     left to the end of day (load_eod_demo)"]
        if not self.days:
            return [*lines, "surveillance     every past business day already surveyed"]
        return lines + [f"surveillance {day}  {raised} new alerts, {existing} already raised ({status})"
                        for day, raised, existing, status in self.days]


def _business_days(first: dt.date, last: dt.date) -> list[dt.date]:
    markets = list(Market.objects.filter(instruments__isnull=False).distinct())
    days = (first + dt.timedelta(days=n) for n in range((last - first).days + 1))
    return [d for d in days if d.weekday() < 5 and any(is_trading_session(market=m, day=d) for m in markets)]


def _plant_structuring(summary: ComplianceDemoSummary, days: list[dt.date]) -> None:
    account = Account.objects.filter(code=STRUCTURING_ACCOUNT).first()
    if account is None or len(days) < 3:
        return
    for n, (value_date, amount) in enumerate(zip(days[-3:], STRUCTURING_AMOUNTS, strict=True), start=1):
        reference = f"DEMO-COMPLIANCE-STRUCT-{n}"
        if CashMovement.objects.filter(reference=reference).exists():
            continue
        with transaction.atomic():
            cash_movement_create(actor=DEMO_ACTOR, account=account, currency="USD", amount=Decimal(amount),
                                 value_date=value_date, reference=reference, kind=CashMovement.Kind.DEPOSIT,
                                 description="Cash deposit at branch")
    summary.planted.append(f"structuring: 3 deposits just under 10,000 USD into {STRUCTURING_ACCOUNT}")


def _plant_wash(summary: ComplianceDemoSummary, day: dt.date) -> None:
    """Sell part of a US holding and buy it back at nearly the same price (a wash), on `day`."""
    from records.trades.input import parse_trade
    from records.trades.services import trade_submit_batch

    if Trade.objects.filter(external_ref__startswith=WASH_REF).exists():
        return
    holding = (Position.objects.filter(account__code=WASH_ACCOUNT, settled_quantity__gte=200,
                                       instrument__market__mic__in=("XNAS", "XNYS"))
               .select_related("instrument").order_by("instrument__isin").first())
    if holding is None:
        return
    instrument = holding.instrument
    close = (Price.objects.filter(instrument=instrument, price_date__lte=day).order_by("-price_date")
             .values_list("price", flat=True).first())
    if close is None or not is_trading_session(market=instrument.market, day=day):
        return
    counterparty = (Trade.objects.filter(instrument=instrument).order_by("id")
                    .values_list("counterparty__code", flat=True).first())
    if counterparty is None:
        return
    quantity = Decimal(100)
    items = []
    for index, (side, factor) in enumerate((("SELL", Decimal("1.0005")), ("BUY", Decimal("0.9998")))):
        price = (close * factor).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
        item, errors = parse_trade({
            "external_ref": f"{WASH_REF}-{side}", "account": WASH_ACCOUNT, "counterparty": counterparty,
            "instrument": instrument.isin, "side": side, "quantity": format_decimal(quantity),
            "price": format_decimal(price), "currency": instrument.currency, "trade_date": day.isoformat(),
            "settlement_date": None, "commission": "1.00"})
        if errors:
            return
        items.append((index, item))
    with transaction.atomic():
        results = trade_submit_batch(submitted_by=demo_oms_user(), items=items)
    booked = sum(1 for r in results.values() if r.trade_id is not None)
    summary.planted.append(f"wash trade: {WASH_ACCOUNT} sold and bought back 100 {instrument.symbol} on {day} "
                           f"({booked} of 2 booked)")


def load_compliance_demo(*, today: dt.date | None = None, runs: bool = True) -> ComplianceDemoSummary:
    """Plant the patterns, then survey every past business day without a completed run, oldest first.

    With runs=False it only plants them (and works the queue it finds): the end of day (load_eod_demo) surveys
    the dates, then works the queue (work_the_queue).
    """
    today = today or timezone.localdate()
    summary = ComplianceDemoSummary(deferred=not runs)
    first = Trade.objects.aggregate(first=Min("trade_date"))["first"]
    if first is None or first > today:
        return summary
    days = _business_days(first, today)
    past = [d for d in days if d < today]
    with correlation(f"{DEMO_ACTOR}:{uuid.uuid4().hex[:12]}"):
        _plant_structuring(summary, past)
        if past:
            _plant_wash(summary, past[-1])
        done = set(JobRun.objects.filter(kind=SURVEILLANCE, status=JobRun.Status.COMPLETED)
                   .values_list("parameters__trade_date", flat=True))
        for day in days if runs else ():
            if day.isoformat() in done:
                continue
            try:
                job = surveillance.surveillance_run_now(trade_date=day, started_by=DEMO_ACTOR)
            except BusinessRuleError as exc:  # a run of the day under way (a worker has it)
                summary.days.append((day.isoformat(), 0, 0, exc.message))
                continue
            totals = surveillance_selectors.surveillance_run_totals(job)
            summary.days.append((day.isoformat(), totals["raised"], totals["existing"], job.status))
        summary.worked = work_the_queue(today)
    return summary


def work_the_queue(today: dt.date) -> tuple[int, int]:
    """Close the unowned open alerts about days more than WORKED_AFTER_DAYS back; assign the older half of the
    rest to the demo officer. Through the case services (events and audit records)."""
    officer, created = get_user_model().objects.get_or_create(
        username=DEMO_OFFICER, defaults={"first_name": "Claire", "last_name": "Okafor", "is_active": True})
    if created:
        officer.set_unusable_password()
        officer.save(update_fields=["password"])
        officer.groups.add(Group.objects.get(name=roles.COMPLIANCE))
    unowned = Alert.objects.filter(state=AlertState.OPEN, owner__isnull=True).order_by("business_date", "id")
    old = list(unowned.filter(business_date__lt=today - dt.timedelta(days=WORKED_AFTER_DAYS))
               .values_list("id", flat=True))
    for alert_id in old:
        alert_services.alert_close(actor=officer, alert_id=alert_id, disposition=DISPOSITION)
    if Alert.objects.filter(owner=officer).exclude(state=AlertState.CLOSED).exists():
        return len(old), 0  # the officer took her share on an earlier run
    recent = list(unowned.values_list("id", flat=True))
    taken = recent[:len(recent) // 2][:alert_services.BULK_MAX]
    if taken:
        alert_services.alerts_assign_bulk(actor=officer, alert_ids=taken, owner=officer)
    return len(old), len(taken)
