"""Short sales of the demo firm: ``manage.py load_shorts_demo`` after ``load_demo`` (compliance/shorts/demo.py)."""

import time

from django.core.management.base import BaseCommand

from compliance.shorts import demo


class Command(BaseCommand):
    help = ("Record the demo hedge funds' borrows and locates and book their short sales, plus two trades the "
            "pre-trade checks hold (an uncovered short sale, a fat-finger price). Through the services; safe to "
            "run again.")

    def handle(self, *args, **options):
        started = time.monotonic()
        summary = demo.load_shorts_demo()
        for line in summary.lines():
            self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS(f"Short-sale demo ready ({time.monotonic() - started:.1f} s)."))
