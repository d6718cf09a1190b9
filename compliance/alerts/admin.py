"""Admin of alerts (loaded by compliance/admin.py): read-only, each alert with its history inline.

Alerts are raised by the rules (alerts_raise) and worked on the dashboard (/compliance/alerts/) or through the
API, by the services that record every step; here they are only viewed.
"""

from django.contrib import admin

from backoffice.core.admin import ReadOnlyAdmin, ReadOnlyInline
from compliance.alerts.models import Alert, AlertEvent


class AlertEventInline(ReadOnlyInline):
    model = AlertEvent
    fields = ("at", "action", "from_state", "to_state", "actor_label", "owner", "note")
    readonly_fields = fields
    ordering = ("at", "id")


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    list_display = ("id", "opened_at", "severity", "rule", "kind", "subject_type", "subject_id", "account",
                    "state", "owner", "due_at", "closed_at")
    list_filter = ("state", "severity", "kind", "subject_type")
    search_fields = ("=id", "=rule__code", "=account__code", "summary")
    search_help_text = "An alert id, a rule code or an account code (exact), or words of the summary."
    list_select_related = ("rule", "account", "owner")
    ordering = ("-opened_at", "-id")
    inlines = [AlertEventInline]
