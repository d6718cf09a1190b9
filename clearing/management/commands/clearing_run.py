"""manage.py clearing_run [--date YYYY-MM-DD] [--now]: net a settlement date, as the API and the runs page do."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from backoffice.core.exceptions import BusinessRuleError
from backoffice.core.fields import InputError, parse_date
from backoffice.core.jobs.services import job_run_execute
from clearing.netting import selectors
from clearing.netting.services import clearing_run_create, clearing_run_start, next_settlement_date

STARTED_BY = "command:clearing_run"


class Command(BaseCommand):
    help = ("Start the clearing (netting) run of a settlement date: queue it to a worker, or with --now run it in "
            "this process and print its figures. A date whose last run failed is continued.")

    def add_arguments(self, parser):
        parser.add_argument("--date", help="The settlement date, YYYY-MM-DD (default: the next settlement date "
                                           "after today, what the beat nets).")
        parser.add_argument("--now", action="store_true", help="Run it here and wait, instead of queueing it.")

    def handle(self, *args, date=None, now=False, **options):
        try:
            day = parse_date(date) if date else next_settlement_date(after=timezone.localdate())
        except InputError as exc:
            raise CommandError(f"--date: {exc.message}") from None
        try:
            if now:
                run = clearing_run_create(settlement_date=day, started_by=STARTED_BY)
                job_run_execute(job_id=run.job_id)
            else:
                run = clearing_run_start(settlement_date=day, started_by=STARTED_BY)
        except BusinessRuleError as exc:
            raise CommandError(exc.message) from None
        run = selectors.clearing_run_get(run.pk)
        job = run.job
        self.stdout.write(f"clearing run {run.pk} for {day.isoformat()}: job {job.pk} {job.status}"
                          + (f": {job.error}" if job.error else ""))
        if job.status == job.Status.COMPLETED:
            self.stdout.write(f"{run.trades_netted} trades netted into {run.obligations_created} obligations")
        if job.status == job.Status.FAILED:
            raise CommandError(f"clearing run {run.pk} failed (job {job.pk}); run it again for {day.isoformat()} "
                               "to continue it")
