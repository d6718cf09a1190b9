"""The admin of the books-and-records exports: the signed daily manifests, read-only."""

from django.contrib import admin

from backoffice.core.admin import ReadOnlyAdmin
from records.exports.models import ExportManifest


@admin.register(ExportManifest)
class ExportManifestAdmin(ReadOnlyAdmin):
    list_display = ("business_date", "date_from", "date_to", "file_count", "created_at", "created_by")
    date_hierarchy = "business_date"

    @admin.display(description="files")
    def file_count(self, manifest):
        return len(manifest.files)
