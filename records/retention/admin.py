"""The admin of retention: policies (changed through the retention services) and legal holds (read-only)."""

from django.contrib import admin

from backoffice.core.admin import ReadOnlyAdmin, ServiceAdmin
from records.retention import services as retention
from records.retention.models import LegalHold, RetentionPolicy


@admin.register(RetentionPolicy)
class RetentionPolicyAdmin(ServiceAdmin):
    """Periods are changed here through records.retention.services (audited; never below the SEC minimum).
    Policies come with the migrations: none is added or deleted here."""

    list_display = ("record_type", "retention_years", "rule", "updated_at")
    fields = ("record_type", "retention_years", "rule", "reason", "updated_at")
    key_fields = ("record_type",)
    readonly_always = ("updated_at",)

    def has_add_permission(self, request):
        return False

    def service_save(self, *, actor, form):
        return retention.retention_policy_update(
            actor=actor, policy=RetentionPolicy.objects.get(pk=form.instance.pk),
            retention_years=form.cleaned_data["retention_years"], rule=form.cleaned_data["rule"],
            reason=self.reason(form))


@admin.register(LegalHold)
class LegalHoldAdmin(ReadOnlyAdmin):
    """Placed and released on the Retention dashboard (operations and compliance), through the service."""

    list_display = ("id", "scope", "account", "instrument", "record_type", "record_id", "matter", "placed_by",
                    "placed_at", "released_at")
    list_filter = ("scope", ("released_at", admin.EmptyFieldListFilter))
    search_fields = ("matter", "reason", "=account__code", "=instrument__isin", "=record_id")
    list_select_related = ("account", "instrument", "placed_by")
