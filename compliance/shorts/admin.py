"""Admin of locates, borrows and the penalty box (loaded by compliance/admin.py): read-only.

Locates and borrows are recorded and ended on /compliance/locates/ or through the API; penalty-box entries are
made by the surveillance job and released on /compliance/penalty-box/ or through the API: the services audit
them. Here they are only viewed.
"""

from django.contrib import admin

from backoffice.core.admin import ReadOnlyAdmin
from compliance.shorts.models import Locate, PenaltyBoxEntry


@admin.register(Locate)
class LocateAdmin(ReadOnlyAdmin):
    list_display = ("id", "account", "instrument", "kind", "quantity", "source", "reference", "valid_from",
                    "valid_to", "created_by", "created_at", "ended_by", "ended_at")
    list_filter = ("kind", "valid_from")
    search_fields = ("=account__code", "=instrument__isin", "reference", "source")
    search_help_text = "An account code or ISIN (exact), or words of the reference or source."
    list_select_related = ("account", "instrument", "created_by", "ended_by")
    ordering = ("-id",)


@admin.register(PenaltyBoxEntry)
class PenaltyBoxEntryAdmin(ReadOnlyAdmin):
    list_display = ("id", "account", "instrument", "fail_id", "close_out_deadline", "since", "released_on",
                    "released_by", "reason")
    list_filter = ("since", "released_on")
    search_fields = ("=account__code", "=instrument__isin", "=fail_id")
    search_help_text = "An account code, ISIN or fail id (exact)."
    list_select_related = ("account", "instrument", "released_by")
    ordering = ("-id",)
