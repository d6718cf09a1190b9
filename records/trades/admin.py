"""The admin of the trade blotter, read-only: trades, their versions and lifecycle events change only
through the trade-capture services (the API)."""

from django.contrib import admin

from backoffice.core.admin import LargeTablePaginator, ReadOnlyAdmin, ReadOnlyInline, decimal_column
from records.trades import selectors
from records.trades.models import Trade, TradeEvent, TradeVersion


class TradeStatusFilter(admin.SimpleListFilter):
    """Status, as the blotter filters it (selectors.trades_in_status: a rare status through its events)."""

    title = "status"
    parameter_name = "status__exact"  # the URL of the field's own filter, kept

    def lookups(self, request, model_admin):
        return Trade.Status.choices

    def queryset(self, request, queryset):
        return selectors.trades_in_status(queryset, self.value()) if self.value() else queryset


class TradeVersionInline(ReadOnlyInline):
    model = TradeVersion
    verbose_name_plural = "superseded versions"
    fields = ("version", "quantity_display", "price_display", "settlement_date", "commission_display", "status",
              "superseded_at", "superseded_by", "reason")
    readonly_fields = fields
    quantity_display = staticmethod(decimal_column("quantity"))
    price_display = staticmethod(decimal_column("price"))
    commission_display = staticmethod(decimal_column("commission"))

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("superseded_by")


class TradeEventInline(ReadOnlyInline):
    model = TradeEvent
    verbose_name_plural = "lifecycle"
    fields = ("at", "action", "from_status", "to_status", "actor_label", "reason")
    readonly_fields = fields
    ordering = ("at", "id")


@admin.register(Trade)
class TradeAdmin(ReadOnlyAdmin):
    list_display = ("id", "external_ref", "trade_date", "settlement_date", "account", "counterparty", "instrument",
                    "side", decimal_column("quantity"), decimal_column("price"), "currency",
                    decimal_column("commission"), "status", "match_status", "version")
    list_display_links = ("id", "external_ref")
    list_filter = (TradeStatusFilter, "side", "match_status", "trade_date")
    # Searched by selectors.trade_search (indexed lookups), not by these fields' default lookups.
    search_fields = ("external_ref", "account__code", "instrument__isin")
    search_help_text = "An external ref (end with * for a prefix), an account code or an ISIN."
    list_select_related = ("account", "counterparty", "instrument")
    show_full_result_count = False
    paginator = LargeTablePaginator
    ordering = ("-id",)
    inlines = (TradeVersionInline, TradeEventInline)

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        return selectors.trade_search(queryset, search_term), False


@admin.register(TradeVersion)
class TradeVersionAdmin(ReadOnlyAdmin):
    list_display = ("trade", "version", decimal_column("quantity"), decimal_column("price"), "settlement_date",
                    decimal_column("commission"), "status", "superseded_at", "superseded_by", "reason")
    list_filter = ("status",)
    search_fields = ("^trade__external_ref", "=trade__account__code", "=trade__instrument__isin")
    list_select_related = ("trade", "superseded_by")
    show_full_result_count = False
    paginator = LargeTablePaginator


@admin.register(TradeEvent)
class TradeEventAdmin(ReadOnlyAdmin):
    list_display = ("trade", "at", "action", "from_status", "to_status", "actor_label", "reason")
    list_filter = ("action", "to_status")
    search_fields = ("^trade__external_ref", "=actor_label")
    list_select_related = ("trade",)
    show_full_result_count = False
    paginator = LargeTablePaginator
    ordering = ("-id",)
