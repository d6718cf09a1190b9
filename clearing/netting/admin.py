"""Admin of clearing's netting models (loaded by clearing/admin.py): read-only, since only clearing runs write them.

The dashboards (/clearing/runs/, /clearing/obligations/) are where operations staff work them; the
admin shows the rows as stored.
"""

from django.contrib import admin

from backoffice.core.admin import LargeTablePaginator, ReadOnlyAdmin, decimal_column
from clearing.models import ClearingRun, NettedTrade, Obligation


@admin.register(ClearingRun)
class ClearingRunAdmin(ReadOnlyAdmin):
    list_display = ("id", "settlement_date", "job", "trades_netted", "obligations_created",
                    decimal_column("gross_value"), decimal_column("net_value"), "created_at")
    list_filter = ("settlement_date",)
    search_fields = ("=id", "=job__id")
    list_select_related = ("job",)
    date_hierarchy = "settlement_date"
    ordering = ("-id",)
    readonly_fields = ("settlement_date", "job", "created_at", "trades_netted", "obligations_created", "gross_value",
                       "net_value", "gross_quantity", "net_quantity")


@admin.register(Obligation)
class ObligationAdmin(ReadOnlyAdmin):
    list_display = ("id", "run", "settlement_date", "account", "counterparty", "instrument", "currency",
                    decimal_column("net_quantity"), decimal_column("net_cash"), "trade_count", "status")
    list_filter = ("status", "settlement_date", "currency")
    search_fields = ("=id", "=run__id", "=account__code", "=counterparty__code", "=instrument__isin")
    search_help_text = "An obligation or run id, an account or counterparty code, or an ISIN."
    list_select_related = ("account", "counterparty", "instrument", "run")
    show_full_result_count = False
    paginator = LargeTablePaginator
    ordering = ("-id",)
    readonly_fields = ("run", "account", "counterparty", "instrument", "settlement_date", "currency", "net_quantity",
                       "net_cash", "trade_count", "buy_quantity", "sell_quantity", "buy_value", "sell_value", "status",
                       "created_at")


@admin.register(NettedTrade)
class NettedTradeAdmin(ReadOnlyAdmin):
    list_display = ("trade", "obligation")
    search_fields = ("=trade__id", "=obligation__id")
    search_help_text = "A trade id or an obligation id."
    list_select_related = ("trade", "obligation")
    show_full_result_count = False
    paginator = LargeTablePaginator
    ordering = ("-obligation_id", "trade_id")
    readonly_fields = ("trade", "obligation")
