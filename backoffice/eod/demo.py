"""The end of day for the demo firm: ``manage.py load_eod_demo`` after the other demos (``make run`` runs it last).

Runs the EOD (in this process, through the services and the job framework, audited) of every past
settlement date from the demo's first trade date to yesterday that has no completed EOD run, oldest first,
as the beat would have run them. ``make run`` runs the settlement, accounting and compliance demos before it
with ``--no-runs``: they set up (standing instructions, cash, counterparty failures, opening values, planted
patterns) and leave the batches to the end of day, so each date's run settles, posts, marks to market,
reconciles and surveys that date (the clearing demo has netted the past dates, because the treasury funds
what the netting reserves before settlement). Then ``finish_demo`` does what follows the end of day: the
month-end closes of the old months and the compliance officer's work on the alert queue.

Run after demos that did their own batches (their default), each stage finds its work done and adds nothing.
Safe to run again: a date with a completed run is skipped.
"""

import contextlib
import datetime as dt

from django.db.models import Min
from django.utils import timezone

from accounting.demo import AccountingDemoSummary, close_old_months
from backoffice.core.context import correlation
from backoffice.core.exceptions import BusinessRuleError
from backoffice.core.jobs.models import JobRun
from backoffice.core.jobs.services import job_run_execute
from backoffice.eod.services import eod_alone, eod_date_parse, eod_run_create
from backoffice.eod.stages import EOD
from compliance.demo import DEMO_OFFICER, work_the_queue
from records.trades.models import Trade

DEMO_ACTOR = "job:load_eod_demo"


def _settlement_days(first: dt.date, last: dt.date) -> list[dt.date]:
    days, day = [], first
    while day <= last:
        with contextlib.suppress(BusinessRuleError):  # refused: no market settles that day
            days.append(eod_date_parse(day))
        day += dt.timedelta(days=1)
    return days


def load_eod_demo(*, today: dt.date | None = None) -> list[tuple[dt.date, JobRun]]:
    """Run the EOD of each past settlement date without a completed one; return (date, run) per date run."""
    today = today or timezone.localdate()
    first = Trade.objects.aggregate(first=Min("trade_date"))["first"]
    if first is None:
        return []
    done = set(JobRun.objects.filter(kind=EOD, status=JobRun.Status.COMPLETED)
               .values_list("parameters__settlement_date", flat=True))
    ran = []
    for day in _settlement_days(first, today - dt.timedelta(days=1)):
        if day.isoformat() in done:
            continue
        with correlation(f"demo:eod:{day.isoformat()}"), eod_alone():
            job = eod_run_create(settlement_date=day, started_by=DEMO_ACTOR)
            ran.append((day, job_run_execute(job_id=job.pk)))
    return ran


def finish_demo(*, today: dt.date | None = None) -> list[str]:
    """After the end of day of the past dates: close the old months and work the alert queue; return what was done."""
    today = today or timezone.localdate()
    accounting = AccountingDemoSummary()
    with correlation(f"demo:eod:finish:{today.isoformat()}"):
        close_old_months(accounting, today)
        closed, assigned = work_the_queue(today)
    return [f"periods closed   {', '.join(accounting.closed) or 'none'}",
            f"alert queue      {closed} closed, {assigned} assigned to {DEMO_OFFICER}"]
