"""Admin of settlements' runs models (loaded by settlements/admin.py): read-only, since only runs write them.

The dashboards (/settlements/runs/) are where operations staff work them; the admin shows the rows as stored.
"""

from django.contrib import admin

from backoffice.core.admin import LargeTablePaginator, ReadOnlyAdmin, decimal_column
from settlements.models import SettlementMovement, SettlementRun


@admin.register(SettlementRun)
class SettlementRunAdmin(ReadOnlyAdmin):
    list_display = ("id", "settlement_date", "job", "settled", "partial", "failed", "created_at")
    list_filter = ("settlement_date",)
    search_fields = ("=id", "=job__id")
    list_select_related = ("job",)
    date_hierarchy = "settlement_date"
    ordering = ("-id",)
    readonly_fields = ("settlement_date", "job", "created_at", "settled", "partial", "failed")


@admin.register(SettlementMovement)
class SettlementMovementAdmin(ReadOnlyAdmin):
    list_display = ("id", "run", "instruction", "account", "instrument", decimal_column("quantity"),
                    decimal_column("cash"), "currency", "value_date", "settled_at")
    list_filter = ("value_date", "currency")
    search_fields = ("=id", "=run__id", "=instruction__id", "=account__code", "=instrument__isin")
    search_help_text = "A movement, run or instruction id, an account code or an ISIN."
    list_select_related = ("run", "instruction", "account", "instrument")
    show_full_result_count = False
    paginator = LargeTablePaginator
    ordering = ("-id",)
    readonly_fields = ("instruction", "run", "account", "instrument", "currency", "quantity", "cash", "value_date",
                       "settled_at")
