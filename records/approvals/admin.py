"""The admin of maker-checker: change requests, read-only, approved and rejected through the approvals services."""

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from backoffice.core.admin import ReadOnlyAdmin, ServiceAdmin
from backoffice.core.exceptions import BusinessRuleError
from records.approvals import kinds
from records.approvals import services as approvals
from records.approvals.models import ChangeRequest

DECIDED_IN_ADMIN = "decided in the admin"


@admin.register(ChangeRequest)
class ChangeRequestAdmin(ReadOnlyAdmin):
    """Proposed changes, read-only. Approving and rejecting go through the approvals services as the
    signed-in user, so the proposer cannot decide their own change here either."""

    list_display = ("id", "kind", "summary", "status", "proposed_by", "proposed_at", "decided_by", "decided_at")
    list_display_links = ("id", "summary")
    list_filter = ("status", "kind")
    search_fields = ("=target_id", "summary", "=proposed_by__username")
    list_select_related = ("proposed_by", "decided_by")
    date_hierarchy = "proposed_at"
    fields = ("kind", "summary", "target_type", "target_id", "status", "reason", "proposed_by", "proposed_at",
              "diff_display", "payload", "before", "decided_by", "decided_at", "decision_reason", "result")
    readonly_fields = fields
    actions = ("approve_selected", "reject_selected")

    @admin.display(description="change")
    def diff_display(self, obj):
        rows = kinds.change_diff(obj)
        if not rows:
            return "-"
        return format_html("<table><tr><th>field</th><th>before</th><th>after</th></tr>{}</table>", format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td><strong>{}</strong></td></tr>",
            ((row.field, "-" if row.before is None else row.before, "-" if row.after is None else row.after)
             for row in rows)))

    @admin.action(description="Approve selected changes")
    def approve_selected(self, request, queryset):
        for change_id in queryset.order_by("pk").values_list("pk", flat=True):
            try:
                change = approvals.change_approve(actor=request.user, change_id=change_id, reason=DECIDED_IN_ADMIN)
            except BusinessRuleError as exc:
                self.message_user(request, f"#{change_id} not approved: {exc.message}", messages.ERROR)
                continue
            if change.status == ChangeRequest.Status.FAILED:
                self.message_user(request, f"#{change_id} approved but could not be applied: "
                                           f"{change.result.get('error')}", messages.WARNING)
            else:
                self.message_user(request, f"#{change_id} approved and applied: {change.summary}", messages.SUCCESS)

    @admin.action(description="Reject selected changes…")
    def reject_selected(self, request, queryset):
        reason = request.POST.get("reason", "").strip()
        if "apply" in request.POST and reason:
            for change_id in queryset.order_by("pk").values_list("pk", flat=True):
                try:
                    approvals.change_reject(actor=request.user, change_id=change_id, reason=reason)
                except BusinessRuleError as exc:
                    self.message_user(request, f"#{change_id} not rejected: {exc.message}", messages.ERROR)
                else:
                    self.message_user(request, f"#{change_id} rejected.", messages.SUCCESS)
            return None
        # Ask for the reason first (like the delete confirmation page).
        return TemplateResponse(request, "admin/records/changerequest/reject.html", {
            **self.admin_site.each_context(request),
            "title": "Reject changes",
            "opts": self.model._meta,
            "changes": queryset.order_by("pk"),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "missing_reason": "apply" in request.POST,
        })


class ProposingAdmin(ServiceAdmin):
    """The admin of reference data under maker-checker: adding or changing a row proposes it instead.

    The subclass's service_save(actor=, form=) proposes the change (records.approvals change_propose) and
    returns the change request; the row changes when another user with the right role approves it (Pending
    approvals, or the API). change_kind names the kind, approvers who may approve it (for the message);
    pending_target(object_id) is the change requests' target_id of a row (default: its id).
    """

    change_kind = ""
    approvers = "another user"

    def pending_target(self, object_id) -> str | None:
        return str(object_id)

    def save_model(self, request, obj, form, change):
        request._proposed_change = self.service_save(actor=request.user, form=form)
        if change:
            obj.refresh_from_db()  # the form wrote the proposed values onto obj: show the row as it still is

    def log_addition(self, request, obj, message):
        return None  # nothing was added: the proposal is in the audit trail

    def log_change(self, request, obj, message):
        proposal = getattr(request, "_proposed_change", None)
        if proposal is not None:
            message = f"Proposed change #{proposal.pk} for approval: {proposal.summary}"
        return super().log_change(request, obj, message)

    def _proposed(self, request):
        proposal = request._proposed_change
        self.message_user(request, f"Submitted for approval as change #{proposal.pk}: {proposal.summary}. It takes "
                                   f"effect when {self.approvers} approves it.", messages.SUCCESS)
        opts = self.model._meta
        return HttpResponseRedirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))

    def response_add(self, request, obj, post_url_continue=None):
        return self._proposed(request)

    def response_change(self, request, obj):
        return self._proposed(request)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        target = self.pending_target(object_id) if request.method == "GET" else None
        if target is not None:
            for pending in (ChangeRequest.objects.filter(kind=self.change_kind, status=ChangeRequest.Status.PENDING,
                                                         target_id=target).order_by("id")):
                self.message_user(request, f"Change #{pending.pk} awaits approval: {pending.summary}",
                                  messages.WARNING)
        return super().change_view(request, object_id, form_url, extra_context)
