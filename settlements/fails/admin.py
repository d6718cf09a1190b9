"""Admin of settlements' fails models (loaded by settlements/admin.py): read-only.

Fails are opened and closed by the settlement runs, penalties written by the fail-penalties job, status
messages by the status-message import; the fails pages (/settlements/fails/) are where operations work
them. Penalty rates are reference data seeded from the regulation; they are shown, not edited here.
"""

from django.contrib import admin

from backoffice.core.admin import LargeTablePaginator, ReadOnlyAdmin, decimal_column
from settlements.models import FailPenalty, PenaltyRate, SettlementFail, StatusMessage


@admin.register(SettlementFail)
class SettlementFailAdmin(ReadOnlyAdmin):
    list_display = ("id", "instruction", "kind", "cause", "failed_on", decimal_column("unsettled_quantity"),
                    "regsho_basis", "close_out_deadline", "closed_on")
    list_filter = ("kind", "cause", "regsho_basis", "closed_on")
    search_fields = ("=id", "=instruction__id")
    date_hierarchy = "failed_on"
    ordering = ("-id",)
    paginator = LargeTablePaginator


@admin.register(FailPenalty)
class FailPenaltyAdmin(ReadOnlyAdmin):
    list_display = ("id", "fail", "penalty_date", decimal_column("unsettled_quantity"),
                    decimal_column("reference_price"), decimal_column("rate"), decimal_column("amount"), "currency")
    list_filter = ("currency", "penalty_date")
    search_fields = ("=fail__id",)
    date_hierarchy = "penalty_date"
    ordering = ("-id",)
    paginator = LargeTablePaginator


@admin.register(PenaltyRate)
class PenaltyRateAdmin(ReadOnlyAdmin):
    list_display = ("asset_class", "fail_type", decimal_column("rate"), "effective_from", "source")
    list_filter = ("asset_class", "fail_type")


@admin.register(StatusMessage)
class StatusMessageAdmin(ReadOnlyAdmin):
    list_display = ("message_id", "instruction", "status", "reason", "received_at", "received_by")
    list_filter = ("status",)
    search_fields = ("=message_id", "=instruction__id")
    ordering = ("-id",)
