"""Run the demo firm's end of day for its past settlement dates: ``manage.py load_eod_demo`` after the other demos."""

import time

from django.core.management.base import BaseCommand, CommandError

from backoffice.eod import demo


class Command(BaseCommand):
    help = ("Run the end of day of every past settlement date of the demo without a completed one, oldest first, in "
            "this process (through the services and the job framework, audited), so that the End of day page has "
            "its history; then close the old months and work the alert queue. Safe to run again.")

    def handle(self, *args, **options):
        started = time.monotonic()
        failed = []
        for day, job in demo.load_eod_demo():
            self.stdout.write(f"  {day.isoformat()}: eod job {job.pk} {job.status}, {job.rows_affected} rows"
                              + (f": {job.error}" if job.error else ""))
            if job.status == job.Status.FAILED:
                failed.append(day.isoformat())
        if failed:
            raise CommandError(f"the end of day of {', '.join(failed)} failed; run load_eod_demo again to resume it")
        for line in demo.finish_demo():
            self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS(f"End-of-day demo ready ({time.monotonic() - started:.1f} s)."))
