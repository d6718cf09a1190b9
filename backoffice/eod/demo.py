"""The end of day for the demo firm: ``manage.py load_eod_demo`` after the other demos (``make run`` runs it last).

Runs the EOD (in this process, through the services and the job framework, audited) of every past
settlement date from the demo's first trade's settlement date to yesterday that has no completed EOD run,
oldest first, so that the End of day page opens with each date's history. The demos before it have netted,
settled, posted and surveyed those dates already: each stage finds its work done and adds nothing, and a
new user sees the pipeline as the beat would have run it. Safe to run again: a date with a completed run is
skipped.
"""

import contextlib
import datetime as dt

from django.db.models import Min
from django.utils import timezone

from backoffice.core.context import correlation
from backoffice.core.exceptions import BusinessRuleError
from backoffice.core.jobs.models import JobRun
from backoffice.core.jobs.services import job_run_execute
from backoffice.eod.services import eod_alone, eod_date_parse, eod_run_create
from backoffice.eod.stages import EOD
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
    first = Trade.objects.aggregate(first=Min("settlement_date"))["first"]
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
