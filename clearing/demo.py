"""Clearing for the demo firm: counterparties' confirmations of the demo trades and netting runs of past dates.

``manage.py load_clearing_demo`` after ``load_demo --trades N`` (``make run`` runs both). Deterministic for
a seed and safe to run again: confirmations are idempotent by their reference, and a settlement date
is netted only while it has no completed run. Everything goes through the services (audited), so the
demo shows every state a clerk meets: matched trades, breaks (prices and quantities that disagree,
confirmations with no trade, trades with no confirmation) and cleared trades in net obligations.
"""

import datetime as dt
import random
import uuid
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal

from django.utils import timezone

from backoffice.core.context import correlation
from backoffice.core.fields import format_decimal
from backoffice.core.jobs.models import JobRun
from backoffice.core.jobs.services import job_run_execute
from clearing.matching.input import parse_confirmation
from clearing.matching.services.confirmations import CREATED, confirmation_submit_batch
from clearing.models import ClearingRun
from clearing.netting.services import clearing_run_create
from records.demo import DEFAULT_SEED
from records.trades.models import Trade

DEMO_ACTOR = "job:load_clearing_demo"
AFFIRMATION_USER = "demo-affirmations"
# Of the demo trades with a counterparty that confirms: confirmed as booked, a price off, a quantity
# off, or no confirmation yet; the rest of the unit interval.
CONFIRMED, PRICE_OFF, QUANTITY_OFF = 0.88, 0.91, 0.93
STRAY_CONFIRMATIONS = 3  # confirmations of trades we never booked
BATCH = 5_000


@dataclass
class ClearingDemoSummary:
    confirmations: dict = field(default_factory=dict)
    runs: list = field(default_factory=list)

    def lines(self) -> list[str]:
        counts = ", ".join(f"{n} {status.lower()}" for status, n in sorted(self.confirmations.items())) or "none new"
        lines = [f"confirmations    {counts}"]
        for day, trades, obligations in self.runs:
            lines.append(f"netting {day}  {trades} trades into {obligations} obligations")
        if not self.runs:
            lines.append("netting          every past settlement date already netted")
        return lines


def affirmation_user():
    """The counterparties' affirmation platform the demo confirmations come from (front_office role)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    user, created = get_user_model().objects.get_or_create(username=AFFIRMATION_USER, defaults={"is_active": True})
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
        user.groups.add(Group.objects.get(name="front_office"))
    return user


def _mirror(side: str) -> str:
    return "SELL" if side == "BUY" else "BUY"


def demo_confirmations(seed: int) -> list[dict]:
    """The confirmations of the demo trades, as the API's input. Deterministic for a seed."""
    trades = (Trade.objects.filter(external_ref__startswith=f"DEMO-{seed}-", counterparty__requires_matching=True)
              .exclude(status__in=(Trade.Status.CANCELLED, Trade.Status.REJECTED))
              .select_related("account", "counterparty", "instrument").order_by("external_ref"))
    rng = random.Random(f"{seed}:confirmations")
    confirmations = []
    for trade in trades:
        roll = rng.random()
        if roll >= QUANTITY_OFF:
            continue  # not confirmed yet: the trade waits in the breaks queue
        quantity, price = trade.quantity, trade.price
        if CONFIRMED <= roll < PRICE_OFF:
            places = max(2, -price.normalize().as_tuple().exponent)
            price = (price * Decimal("1.004")).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
        elif PRICE_OFF <= roll < QUANTITY_OFF:
            quantity = quantity * 2
        confirmations.append(_body(trade, ref=f"C-{trade.external_ref}", quantity=quantity, price=price))
    for number, trade in enumerate(list(trades[:STRAY_CONFIRMATIONS]), start=1):
        # A trade we never booked: six weeks before any demo trade, so no trade of ours is a candidate.
        trade_date = trade.trade_date - dt.timedelta(days=42)
        confirmations.append(_body(trade, ref=f"C-STRAY-{seed}-{number}", quantity=trade.quantity, price=trade.price,
                                   trade_date=trade_date, settlement_date=trade_date + dt.timedelta(days=1)))
    return confirmations


def _body(trade: Trade, *, ref: str, quantity: Decimal, price: Decimal, trade_date: dt.date | None = None,
          settlement_date: dt.date | None = None) -> dict:
    return {
        "counterparty": trade.counterparty.code, "counterparty_ref": ref, "account": trade.account.code,
        "instrument": trade.instrument.isin, "side": _mirror(trade.side),
        "quantity": format_decimal(quantity), "price": format_decimal(price),
        "trade_date": (trade_date or trade.trade_date).isoformat(),
        "settlement_date": (settlement_date or trade.settlement_date).isoformat(),
    }


def _past_settlement_dates(seed: int, today: dt.date) -> list[dt.date]:
    days = (Trade.objects.filter(external_ref__startswith=f"DEMO-{seed}-", settlement_date__lt=today)
            .values_list("settlement_date", flat=True).distinct().order_by("settlement_date"))
    netted = set(ClearingRun.objects.filter(job__status=JobRun.Status.COMPLETED)
                 .values_list("settlement_date", flat=True))
    return [day for day in days if day not in netted]


def load_clearing_demo(*, seed: int = DEFAULT_SEED, today: dt.date | None = None) -> ClearingDemoSummary:
    """Confirm the demo trades and net every past settlement date not netted yet. Idempotent."""
    summary = ClearingDemoSummary()
    user = affirmation_user()
    with correlation(f"{DEMO_ACTOR}:{uuid.uuid4().hex[:12]}"):
        bodies = demo_confirmations(seed)
        for start in range(0, len(bodies), BATCH):
            items = []
            for index, body in enumerate(bodies[start:start + BATCH], start=start):
                item, errors = parse_confirmation(body)
                if errors:
                    summary.confirmations["rejected"] = summary.confirmations.get("rejected", 0) + 1
                else:
                    items.append((index, item))
            for result in confirmation_submit_batch(submitted_by=user, items=items).values():
                key = result.match_status if result.status == CREATED else result.status
                summary.confirmations[key] = summary.confirmations.get(key, 0) + 1
        for day in _past_settlement_dates(seed, today or timezone.localdate()):
            run = clearing_run_create(settlement_date=day, started_by=DEMO_ACTOR)
            job_run_execute(job_id=run.job_id)
            run.refresh_from_db()
            summary.runs.append((day.isoformat(), run.trades_netted, run.obligations_created))
    return summary
