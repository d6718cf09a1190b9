"""Clear the demo firm's trades: ``manage.py load_clearing_demo [--seed S]`` after ``load_demo --trades N``."""

import time

from django.core.management.base import BaseCommand

from clearing import demo


class Command(BaseCommand):
    help = ("Confirm the demo trades as their counterparties would (most as booked, a few with a price or "
            "quantity that disagrees, some not yet) and net every past settlement date not netted yet. "
            "Through the services (audited); safe to run again.")

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=demo.DEFAULT_SEED, metavar="S",
                            help=f"the seed load_demo booked the trades with (default {demo.DEFAULT_SEED})")

    def handle(self, *args, seed: int, **options):
        started = time.monotonic()
        summary = demo.load_clearing_demo(seed=seed)
        for line in summary.lines():
            self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS(f"Clearing demo ready ({time.monotonic() - started:.1f} s)."))
