"""``manage.py export_records --date YYYY-MM-DD [--from D --to D] [--verify]``: the signed daily exports."""

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from backoffice.core.context import correlation
from backoffice.core.exceptions import BusinessRuleError
from records.exports import services as exports
from records.exports.models import ExportManifest


class Command(BaseCommand):
    help = ("Write the books-and-records exports (trade blotter, stock record, cash, audit trail) of a business "
            "date as CSV files with a signed manifest of their SHA-256 hashes. Idempotent per business date.")

    def add_arguments(self, parser):
        parser.add_argument("--date", dest="business_date", type=date.fromisoformat, required=True,
                            metavar="YYYY-MM-DD",
                            help="the business date of the manifest")
        parser.add_argument("--from", dest="date_from", type=date.fromisoformat, metavar="YYYY-MM-DD",
                            help="first day exported (default: the business date)")
        parser.add_argument("--to", dest="date_to", type=date.fromisoformat, metavar="YYYY-MM-DD",
                            help="last day exported (default: the business date)")
        parser.add_argument("--verify", action="store_true",
                            help="only verify the date's existing manifest: signature and file hashes")

    def handle(self, *args, business_date, date_from, date_to, verify, **options):
        if verify:
            manifest = ExportManifest.objects.filter(business_date=business_date).first()
            if manifest is None:
                raise CommandError(f"No manifest for {business_date}.")
        else:
            try:
                with correlation("job:export_records"):
                    manifest = exports.export_manifest_create(business_date=business_date, date_from=date_from,
                                                              date_to=date_to, actor="command:export_records")
            except BusinessRuleError as exc:
                raise CommandError(exc.message) from exc
        directory = exports.manifest_dir(manifest.business_date)
        self.stdout.write(f"manifest {manifest.business_date} ({manifest.date_from}..{manifest.date_to}) "
                          f"in {directory}")
        for entry in manifest.files:
            self.stdout.write(f"  {entry['name']:<16} {entry['rows']:>10} rows {entry['bytes']:>12} bytes "
                              f"sha256 {entry['sha256']}")
        check = exports.export_manifest_verify(manifest)
        if not check.ok:
            raise CommandError("manifest does NOT verify: " + "; ".join(check.problems))
        self.stdout.write(self.style.SUCCESS(f"signature {manifest.signature} verifies; every file matches"))
