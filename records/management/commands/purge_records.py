"""``manage.py purge_records [--record-type X] [--dry-run] [--as-of YYYY-MM-DD]``: the retention purge."""

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from backoffice.core.context import correlation
from backoffice.core.exceptions import BusinessRuleError
from records.retention import services as retention


class Command(BaseCommand):
    help = ("Remove records past their retention period, in a final state and not under a legal hold, leaving "
            "a signed tombstone per chunk in the audit trail. Safe to run again: a rerun purges nothing more.")

    def add_arguments(self, parser):
        parser.add_argument("--record-type", help="one type, e.g. records.trade (default: every purgeable type)")
        parser.add_argument("--dry-run", action="store_true", help="count what would be purged; change nothing")
        parser.add_argument("--as-of", type=date.fromisoformat, metavar="YYYY-MM-DD",
                            help="count retention back from this date instead of today (never later than today)")
        parser.add_argument("--chunk-size", type=int, default=5000, help="rows per transaction (default 5000)")

    def handle(self, *args, record_type, dry_run, as_of, chunk_size, **options):
        try:
            with correlation("job:purge_records"):
                if record_type:
                    results = [retention.purge_run(actor="command:purge_records", record_type=record_type,
                                                   as_of=as_of, dry_run=dry_run, chunk_size=chunk_size)]
                else:
                    results = retention.purge_all(actor="command:purge_records", as_of=as_of, dry_run=dry_run,
                                                  chunk_size=chunk_size)
        except BusinessRuleError as exc:
            raise CommandError(exc.message) from exc
        verb = "would purge" if dry_run else "purged"
        for result in results:
            extra = ", ".join(f"{label} {count}" for label, count in sorted(result.deleted.items())
                              if label != result.record_type)
            self.stdout.write(f"{result.record_type:<24} kept {result.retention_years} y, before {result.cutoff}: "
                              f"{verb} {result.purged} in {result.chunks} chunk{'s' * (result.chunks != 1)}"
                              + (f" (with {extra})" if extra else ""))
        self.stdout.write(self.style.SUCCESS("Dry run: nothing changed." if dry_run else "Purge done."))
