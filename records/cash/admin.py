"""The admin of cash: movements and balances, read-only (balances change only through movements booked by services)."""

from django.contrib import admin

from backoffice.core.admin import ReadOnlyAdmin, decimal_column
from backoffice.core.fields import format_decimal
from records.cash.models import CashBalance, CashMovement


@admin.register(CashMovement)
class CashMovementAdmin(ReadOnlyAdmin):
    list_display = ("reference", "account", "currency", decimal_column("amount"), "value_date", "kind",
                    "created_by", "created_at")
    list_filter = ("kind", "currency")
    search_fields = ("=reference", "=account__code")
    date_hierarchy = "value_date"
    list_select_related = ("account", "created_by")
    show_full_result_count = False


@admin.register(CashBalance)
class CashBalanceAdmin(ReadOnlyAdmin):
    list_display = ("account", "currency", decimal_column("balance"), decimal_column("reserved"), "available_display",
                    "updated_at")
    list_filter = ("currency", "account__kind")
    search_fields = ("=account__code", "account__name")
    list_select_related = ("account",)
    show_full_result_count = False

    @admin.display(description="available")
    def available_display(self, obj):
        return format_decimal(obj.available)
