"""Load the demo firm: ``manage.py load_demo [--trades N] [--seed S]``. Safe to run again."""

import time

from django.core.management.base import BaseCommand, CommandError

from backoffice.core.exceptions import BusinessRuleError
from records import demo


class Command(BaseCommand):
    help = (
        "Load a demo broker-dealer: instruments, accounts, counterparties, 30 business days of prices and "
        "FX rates, funded cash and opening positions, all through the services (audited). Idempotent."
    )

    def add_arguments(self, parser):
        parser.add_argument("--trades", type=int, default=0, metavar="N",
                            help="also submit N demo trades to trade capture (default 0)")
        parser.add_argument("--seed", type=int, default=demo.DEFAULT_SEED, metavar="S",
                            help=f"seed of the price paths, FX rates and trades (default {demo.DEFAULT_SEED})")

    def handle(self, *args, trades: int, seed: int, **options):
        if trades < 0:
            raise CommandError("--trades must be zero or more.")
        started = time.monotonic()
        try:
            summary = demo.load_demo(seed=seed)
        except BusinessRuleError as exc:
            raise CommandError(f"The demo data clashes with records already there: {exc}") from exc
        for line in summary.lines():
            self.stdout.write(line)
        if trades:
            booking_started = time.monotonic()
            try:
                result = demo.book_demo_trades(trades, seed)
            except demo.DemoDataMissing as exc:
                raise CommandError(str(exc)) from exc
            seconds = time.monotonic() - booking_started
            self.stdout.write(f"trades           {result.created} created, {result.duplicates} already there, "
                              f"{result.rejected} rejected ({trades / max(seconds, 1e-9):,.0f} trades/s)")
            for ref, errors in result.first_errors:
                self.stdout.write(self.style.WARNING(f"  rejected {ref}: {errors}"))
        self.stdout.write(self.style.SUCCESS(f"Demo data ready ({time.monotonic() - started:.1f} s)."))
