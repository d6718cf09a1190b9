"""Job runs in the admin: read-only, the traceback included (administrators only see it)."""

from django.contrib import admin

from backoffice.core.admin import ReadOnlyAdmin, ReadOnlyInline
from backoffice.core.jobs.models import JobChunk, JobRun


class JobChunkInline(ReadOnlyInline):
    model = JobChunk
    fields = readonly_fields = ["step", "index", "rows", "result", "done_at"]
    ordering = ["step", "index"]


@admin.register(JobRun)
class JobRunAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "status", "chunks_done", "chunks_total", "rows_affected", "started_by_label",
                    "created_at", "finished_at"]
    list_filter = ["status", "kind"]
    search_fields = ["=id", "kind", "started_by_label", "error"]
    date_hierarchy = "created_at"
    inlines = [JobChunkInline]
    readonly_fields = ["kind", "parameters", "status", "steps", "chunks_total", "chunks_done", "rows_affected",
                       "result", "started_by", "started_by_label", "rerun_of", "attempts", "task_id", "created_at",
                       "started_at", "finished_at", "error", "traceback"]
