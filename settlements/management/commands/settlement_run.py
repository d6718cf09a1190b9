"""manage.py settlement_run [--date YYYY-MM-DD] [--now]: settle a date, as the API and the runs page do."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from backoffice.core.exceptions import BusinessRuleError
from backoffice.core.fields import InputError, parse_date
from backoffice.core.jobs.services import job_run_execute
from settlements.runs import selectors
from settlements.runs.services import settlement_run_create, settlement_run_start

STARTED_BY = "command:settlement_run"


class Command(BaseCommand):
    help = ("Start the settlement run of a date: every open instruction due on or before it, delivery versus "
            "payment. Queue it to a worker, or with --now run it in this process and print its counts. A date "
            "whose last run failed is continued.")

    def add_arguments(self, parser):
        parser.add_argument("--date", help="The settlement date, YYYY-MM-DD (default: today, what the beat settles).")
        parser.add_argument("--now", action="store_true", help="Run it here and wait, instead of queueing it.")

    def handle(self, *args, date=None, now=False, **options):
        try:
            day = parse_date(date) if date else timezone.localdate()
        except InputError as exc:
            raise CommandError(f"--date: {exc.message}") from None
        try:
            if now:
                run = settlement_run_create(settlement_date=day, started_by=STARTED_BY)
                job_run_execute(job_id=run.job_id)
            else:
                run = settlement_run_start(settlement_date=day, started_by=STARTED_BY)
        except BusinessRuleError as exc:
            raise CommandError(exc.message) from None
        run = selectors.settlement_run_get(run.pk)
        job = run.job
        self.stdout.write(f"settlement run {run.pk} for {day.isoformat()}: job {job.pk} {job.status}"
                          + (f": {job.error}" if job.error else ""))
        if job.status == job.Status.COMPLETED:
            self.stdout.write(f"{run.settled} settled, {run.partial} partially settled, {run.failed} failed")
        if job.status == job.Status.FAILED:
            raise CommandError(f"settlement run {run.pk} failed (job {job.pk}); run it again for {day.isoformat()} "
                               "to continue it")
