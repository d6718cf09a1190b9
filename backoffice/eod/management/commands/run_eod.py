"""manage.py run_eod --date YYYY-MM-DD [--now]: the end-of-day pipeline of a settlement date."""

from django.core.management.base import BaseCommand, CommandError

from backoffice.core.exceptions import BusinessRuleError
from backoffice.core.jobs.services import job_run_execute
from backoffice.eod import selectors, services

STARTED_BY = "command:run_eod"


class Command(BaseCommand):
    help = ("Run the end of day of a settlement date: matching, netting and instructions, settlement, posting, "
            "mark to market, reconciliation, surveillance. Queue it to the workers, or with --now run it in this "
            "process (other workers still share its stages' chunks) and print each stage.")

    def add_arguments(self, parser):
        parser.add_argument("--date", required=True, help="The settlement date, YYYY-MM-DD.")
        parser.add_argument("--now", action="store_true", help="Run it here and wait, instead of queueing it.")

    def handle(self, *args, date, now=False, **options):
        try:
            if now:
                job = services.eod_run_create(settlement_date=date, started_by=STARTED_BY)
                job = job_run_execute(job_id=job.pk)
            else:
                job = services.eod_run_start(settlement_date=date, started_by=STARTED_BY)
        except BusinessRuleError as exc:  # ConflictError too: a run of the date under way
            raise CommandError(exc.message) from None
        self.stdout.write(f"eod job {job.pk} for {job.parameters['settlement_date']}: {job.status}"
                          + (f": {job.error}" if job.error else ""))
        if now:
            for view in selectors.eod_stages(job):
                child = view.child
                detail = (f"job {child.pk}, {child.rows_affected} rows, "
                          f"{child.duration.total_seconds():.1f} s" if child is not None and child.duration
                          else view.note)
                self.stdout.write(f"  {view.name:<15} {view.status:<11} {detail}")
        if job.status == job.Status.FAILED:
            raise CommandError(f"eod job {job.pk} failed; run it again to resume the failed stage")
