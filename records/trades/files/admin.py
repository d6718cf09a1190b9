"""The admin of trade files, read-only: files are uploaded and booked through the API or the Trade files page."""

from django.contrib import admin

from backoffice.core.admin import LargeTablePaginator, ReadOnlyAdmin
from records.trades.files.models import TradeFile, TradeFileRow


@admin.register(TradeFile)
class TradeFileAdmin(ReadOnlyAdmin):
    list_display = ("id", "name", "format", "row_count", "rows_done", "created", "duplicate", "rejected",
                    "uploaded_by", "uploaded_at", "completed_at")
    list_filter = ("format",)
    search_fields = ("name", "=sha256")
    list_select_related = ("uploaded_by",)
    ordering = ("-id",)


@admin.register(TradeFileRow)
class TradeFileRowAdmin(ReadOnlyAdmin):
    list_display = ("file", "line", "external_ref", "outcome", "trade_id", "errors")
    list_filter = ("outcome",)
    search_fields = ("=external_ref",)
    list_select_related = ("file",)
    show_full_result_count = False
    paginator = LargeTablePaginator
    ordering = ("-id",)
