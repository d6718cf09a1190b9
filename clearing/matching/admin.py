"""Admin of clearing's matching models (loaded by clearing/admin.py).

Confirmations are read-only here: they arrive through the API or an upload and change through
matching and the breaks workflow (the dashboard's break pages). Tolerances are edited here and saved
through clearing.matching.services.tolerances.match_tolerance_set, with an audit record per change.
"""

from django.contrib import admin

from backoffice.core.admin import LargeTablePaginator, ReadOnlyAdmin, ServiceAdmin, decimal_column
from clearing.matching.services.tolerances import match_tolerance_set
from clearing.models import Confirmation, MatchTolerance


@admin.register(Confirmation)
class ConfirmationAdmin(ReadOnlyAdmin):
    list_display = ("id", "counterparty", "counterparty_ref", "trade_date", "settlement_date", "account", "instrument",
                    "side", decimal_column("quantity"), decimal_column("price"), "match_status", "trade",
                    "resolution", "source", "received_at")
    list_display_links = ("id", "counterparty_ref")
    list_filter = ("match_status", "resolution", "source", "trade_date")
    search_fields = ("=counterparty_ref", "=trade_ref", "=counterparty__code")
    search_help_text = "Their reference, our trade reference they quoted, or a counterparty code (exact)."
    list_select_related = ("counterparty", "account", "instrument")
    show_full_result_count = False
    paginator = LargeTablePaginator
    ordering = ("-id",)
    raw_id_fields = ("trade",)


@admin.register(MatchTolerance)
class MatchToleranceAdmin(ServiceAdmin):
    """The price tolerance of each asset class, in basis points of our price (1 bp = 0.01%)."""

    list_display = ("asset_class", "price_tolerance_bps", "updated_at")
    fields = ("asset_class", "price_tolerance_bps", "reason", "updated_at")
    key_fields = ("asset_class",)
    readonly_always = ("updated_at",)

    def service_save(self, *, actor, form):
        return match_tolerance_set(actor=actor, asset_class=form.cleaned_data.get("asset_class")
                                   or form.instance.asset_class,
                                   price_tolerance_bps=form.cleaned_data["price_tolerance_bps"],
                                   reason=self.reason(form))
