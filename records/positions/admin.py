"""The admin of the stock record: positions, stock movements and what the trades still have to settle, read-only (the
first two change only through services, the last only through the database's triggers)."""

from django.contrib import admin

from backoffice.core.admin import ReadOnlyAdmin, decimal_column
from records.positions.models import PendingSettlementTotal, Position, StockMovement


@admin.register(Position)
class PositionAdmin(ReadOnlyAdmin):
    list_display = ("account", "instrument", decimal_column("traded_quantity"), decimal_column("settled_quantity"),
                    decimal_column("pending_receipt"), decimal_column("pending_delivery"), "updated_at")
    list_filter = ("instrument__asset_class", "instrument__market", "account__kind")
    search_fields = ("=account__code", "=instrument__isin", "instrument__symbol")
    list_select_related = ("account", "instrument")
    show_full_result_count = False


@admin.register(StockMovement)
class StockMovementAdmin(ReadOnlyAdmin):
    list_display = ("reference", "account", "instrument", decimal_column("quantity"), "value_date", "kind",
                    "created_by", "created_at")
    list_filter = ("kind",)
    search_fields = ("=reference", "=account__code", "=instrument__isin")
    date_hierarchy = "value_date"
    list_select_related = ("account", "instrument", "created_by")
    show_full_result_count = False


@admin.register(PendingSettlementTotal)
class PendingSettlementTotalAdmin(ReadOnlyAdmin):
    list_display = ("settlement_date", "instrument", "currency", "account", decimal_column("receive"),
                    decimal_column("deliver"), decimal_column("cash_out"), decimal_column("cash_in"), "trades")
    list_filter = ("currency",)
    search_fields = ("=account__code", "=instrument__isin", "instrument__symbol")
    date_hierarchy = "settlement_date"
    list_select_related = ("account", "instrument")
    show_full_result_count = False
