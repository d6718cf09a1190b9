"""manage.py accounting_eod [--date YYYY-MM-DD] [--post-only] [--now]: the accounting end of day, or a posting run."""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounting.posting import selectors, services
from backoffice.core.exceptions import BusinessRuleError
from backoffice.core.jobs.services import job_create, job_run_execute

STARTED_BY = "command:accounting_eod"


class Command(BaseCommand):
    help = ("Run the accounting end of day as of a date (post what is not posted, mark to market, revalue FX "
            "balances, reconcile), or with --post-only just a posting run. Queue it to a worker, or with --now "
            "run it in this process and print what it did.")

    def add_arguments(self, parser):
        parser.add_argument("--date", help="As of, YYYY-MM-DD (default: today).")
        parser.add_argument("--post-only", action="store_true", help="Only post what is not posted yet.")
        parser.add_argument("--now", action="store_true", help="Run it here and wait, instead of queueing it.")

    def handle(self, *args, date=None, post_only=False, now=False, **options):
        kind = services.POSTING if post_only else services.EOD
        params = {} if post_only else {"as_of": date}
        try:
            if now:
                with transaction.atomic():
                    job = job_create(kind=kind, params=params, started_by=STARTED_BY)
                job = job_run_execute(job_id=job.pk)
            elif post_only:
                job = services.posting_run_start(started_by=STARTED_BY)
            else:
                job = services.accounting_eod_start(as_of=date, started_by=STARTED_BY)
        except BusinessRuleError as exc:  # ConflictError too: a posting run under way
            raise CommandError(exc.message) from None
        self.stdout.write(f"{kind} job {job.pk}: {job.status}" + (f": {job.error}" if job.error else ""))
        for chunk in job.result or []:
            if chunk.get("entries") or chunk.get("step") == "reconcile":
                self.stdout.write(f"  {chunk['step']}: " + ", ".join(
                    f"{key} {value}" for key, value in chunk.items() if key not in ("rows", "step") and value))
        for reason, count in selectors.posting_unpostable(job).items():
            self.stdout.write(f"  left unposted: {count} × {reason}")
        if job.status == job.Status.FAILED:
            raise CommandError(f"job {job.pk} failed; run it again to continue")
