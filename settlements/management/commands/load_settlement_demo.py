"""Settle the demo firm's instructions: ``manage.py load_settlement_demo [--seed S]`` after ``load_clearing_demo``."""

import time

from django.core.management.base import BaseCommand

from settlements import demo


class Command(BaseCommand):
    help = ("Create the standing settlement instructions of the demo counterparties (releasing the instructions "
            "held for want of one), record a few counterparty failures, and settle every past settlement date "
            "not settled yet, oldest first. Through the services (audited); safe to run again.")

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=demo.DEFAULT_SEED, metavar="S",
                            help=f"the seed load_demo booked the trades with (default {demo.DEFAULT_SEED})")
        parser.add_argument("--no-runs", action="store_true",
                            help="set up only, without the batch runs: the end of day (load_eod_demo) runs them")

    def handle(self, *args, seed: int, no_runs: bool, **options):
        started = time.monotonic()
        summary = demo.load_settlement_demo(seed=seed, runs=not no_runs)
        for line in summary.lines():
            self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS(f"Settlement demo ready ({time.monotonic() - started:.1f} s)."))
