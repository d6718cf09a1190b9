"""Survey a trade date now, in this process: ``manage.py run_surveillance --date 2026-12-03``."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from backoffice.core.context import correlation
from backoffice.core.exceptions import BusinessRuleError
from compliance.surveillance import selectors, services


class Command(BaseCommand):
    help = ("Run the post-trade surveillance of a trade date (default today) now, through the job framework "
            "(audited): wash trades, large trades, structuring, marking the close, fails past close-out. A rerun "
            "raises nothing twice.")

    def add_arguments(self, parser):
        parser.add_argument("--date", dest="trade_date", help="trade date YYYY-MM-DD (default today)")

    def handle(self, *args, trade_date: str | None, **options):
        trade_date = trade_date or timezone.localdate().isoformat()
        try:
            with correlation(f"command:run_surveillance:{trade_date}"):
                job = services.surveillance_run_now(trade_date=trade_date, started_by="command:run_surveillance")
        except BusinessRuleError as exc:
            raise CommandError(exc.message) from None
        for row in selectors.surveillance_run_scenarios(job):
            extra = ""
            if "penalty_box_added" in row:
                extra = f", penalty box +{row['penalty_box_added']} -{row['penalty_box_released']}"
            self.stdout.write(f"{row['step']:<15} {row['hits']:>7} hits, {row['raised']:>7} new alerts, "
                              f"{row['existing']:>7} already raised ({row['seconds']} s){extra}")
        if job.status != job.Status.COMPLETED:
            raise CommandError(f"surveillance job {job.pk} {job.status}: {job.error}")
        seconds = job.duration.total_seconds() if job.duration else 0
        self.stdout.write(self.style.SUCCESS(f"surveillance of {trade_date}: job {job.pk} completed in "
                                             f"{seconds:.2f} s"))
