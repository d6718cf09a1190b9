"""Admin of the restricted list (loaded by compliance/admin.py): read-only.

Entries are added and ended on the dashboard page (/compliance/restricted-list/) or through the API,
by the services that audit them; here they are only viewed.
"""

from django.contrib import admin

from backoffice.core.admin import ReadOnlyAdmin
from compliance.restricted.models import RestrictedInstrument


@admin.register(RestrictedInstrument)
class RestrictedInstrumentAdmin(ReadOnlyAdmin):
    list_display = ("id", "instrument", "effective_from", "effective_to", "withdrawn", "reason", "created_by",
                    "created_at", "ended_by", "ended_at")
    list_filter = ("withdrawn", "effective_from")
    search_fields = ("=instrument__isin", "reason")
    search_help_text = "An ISIN (exact) or words of the reason."
    list_select_related = ("instrument", "created_by", "ended_by")
    ordering = ("-id",)
