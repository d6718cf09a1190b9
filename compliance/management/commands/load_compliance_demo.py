"""Surveil the demo firm's past business days: ``manage.py load_compliance_demo`` after ``load_accounting_demo``."""

import time

from django.core.management.base import BaseCommand

from compliance import demo


class Command(BaseCommand):
    help = ("Plant a few patterns worth an alert (structuring deposits, a wash trade) and run the surveillance of "
            "every past business day without one, oldest first, so that the alert queue has alerts. Through the "
            "services and the job framework (audited); safe to run again.")

    def add_arguments(self, parser):
        parser.add_argument("--no-runs", action="store_true",
                            help="set up only, without the batch runs: the end of day (load_eod_demo) runs them")

    def handle(self, *args, no_runs: bool, **options):
        started = time.monotonic()
        summary = demo.load_compliance_demo(runs=not no_runs)
        for line in summary.lines():
            self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS(f"Compliance demo ready ({time.monotonic() - started:.1f} s)."))
