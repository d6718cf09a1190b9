import json

from django.core.management.base import BaseCommand, CommandError

from records.audit.services.audit_chain import audit_seal, audit_verify


class Command(BaseCommand):
    help = "Recompute the audit trail's hash chain and every record's hash; report the first broken link."

    def add_arguments(self, parser):
        parser.add_argument("--seal", action="store_true", help="seal unsealed records first")
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args, seal: bool, json: bool, **options):
        if seal:
            blocks = audit_seal(sealed_by="command:verify_audit")
            self.stdout.write(f"sealed {sum(b.record_count for b in blocks)} records in {len(blocks)} blocks")
        result = audit_verify()
        if json:
            self.stdout.write(_dumps(result.as_dict()))
        else:
            self.stdout.write(f"records checked {result.records_checked}, blocks {result.blocks_checked}, "
                              f"unsealed {result.unsealed}")
        if not result.ok:
            raise CommandError(f"audit trail BROKEN: {_dumps(result.first_broken)}")
        self.stdout.write(self.style.SUCCESS("audit trail intact"))


def _dumps(value) -> str:
    return json.dumps(value, default=str)
