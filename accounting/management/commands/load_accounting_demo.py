"""Close the demo firm's books day by day: ``manage.py load_accounting_demo`` after ``load_settlement_demo``."""

import time

from django.core.management.base import BaseCommand

from accounting import demo


class Command(BaseCommand):
    help = ("Run the accounting end of day (post, mark to market, FX revaluation, reconciliation) of every past "
            "business day without one, oldest first. Through the job framework (audited); safe to run again.")

    def add_arguments(self, parser):
        parser.add_argument("--no-runs", action="store_true",
                            help="set up only, without the batch runs: the end of day (load_eod_demo) runs them")

    def handle(self, *args, no_runs: bool, **options):
        started = time.monotonic()
        summary = demo.load_accounting_demo(runs=not no_runs)
        for line in summary.lines():
            self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS(f"Accounting demo ready ({time.monotonic() - started:.1f} s)."))
