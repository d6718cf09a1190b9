"""The admin of the audit trail and its hash chain, read-only."""

from django.contrib import admin

from backoffice.core.admin import ReadOnlyAdmin
from records.audit.models import AuditBlock, AuditRecord, AuditSeal, AuditVerification


@admin.register(AuditRecord)
class AuditRecordAdmin(ReadOnlyAdmin):
    list_display = ("at", "actor_label", "action", "record_type", "record_id", "reason", "correlation_id")
    list_filter = ("action", "record_type")
    search_fields = ("=record_id", "=actor_label", "=correlation_id")
    date_hierarchy = "at"
    show_full_result_count = False


@admin.register(AuditBlock)
class AuditBlockAdmin(ReadOnlyAdmin):
    list_display = ("id", "sealed_at", "sealed_by", "first_record_id", "last_record_id", "record_count",
                    "short_hash", "pruned_at")
    list_filter = ("sealed_by",)
    date_hierarchy = "sealed_at"
    show_full_result_count = False

    @admin.display(description="hash")
    def short_hash(self, block):
        return f"{block.hash[:16]}…"


@admin.register(AuditSeal)
class AuditSealAdmin(ReadOnlyAdmin):
    list_display = ("record_id", "block_id")
    search_fields = ("=record__id", "=block__id")
    show_full_result_count = False


@admin.register(AuditVerification)
class AuditVerificationAdmin(ReadOnlyAdmin):
    list_display = ("id", "finished_at", "requested_by", "scope", "ok", "records_checked", "blocks_checked",
                    "unsealed", "through_block_id", "first_problem")
    list_filter = ("ok", "scope")
    search_fields = ("=requested_by",)
    date_hierarchy = "finished_at"

    @admin.display(description="first broken link")
    def first_problem(self, verification):
        broken = verification.first_broken or {}
        return broken.get("problem", "")
