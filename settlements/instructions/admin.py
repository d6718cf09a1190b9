"""Admin of settlements' instructions models (loaded by settlements/admin.py).

Settlement instructions are read-only here: a clearing run creates them, operations adjust them on their
dashboard page (allow-partial, a counterparty's failure) and settlement runs settle them. Standing settlement
instructions are reference data under maker-checker: saving a new one or a change proposes it as an
"ssi.change" (settlements/instructions/kinds.py), which takes effect when another operations user approves it
(Pending approvals, or the API); a rule the proposal would break (a bad BIC, a duplicate start) shows on the form.
"""

from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.urls import reverse

from backoffice.core.admin import LargeTablePaginator, ReadOnlyAdmin, ServiceAdmin, decimal_column
from records.approvals import selectors as approval_selectors
from records.approvals import services as approvals
from settlements.instructions.kinds import SSI_CHANGE
from settlements.instructions.validators import CHANGEABLE_FIELDS
from settlements.models import SettlementInstruction, StandingSettlementInstruction

PROPOSED_IN_ADMIN = "proposed in the admin"


@admin.register(SettlementInstruction)
class SettlementInstructionAdmin(ReadOnlyAdmin):
    list_display = ("id", "settlement_date", "account", "counterparty", "instrument", "direction", "payment",
                    decimal_column("quantity"), decimal_column("cash_amount", "cash"), "currency", "status",
                    "allow_partial", "ssi", "obligation", "trade")
    list_filter = ("status", "direction", "payment", "settlement_date")
    search_fields = ("=account__code", "=counterparty__code", "=instrument__isin")
    search_help_text = "An account or counterparty code, or an ISIN (exact)."
    list_select_related = ("account", "counterparty", "instrument", "ssi")
    show_full_result_count = False
    paginator = LargeTablePaginator
    ordering = ("-id",)
    raw_id_fields = ("obligation", "trade", "ssi")


def _payload_value(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


@admin.register(StandingSettlementInstruction)
class StandingSettlementInstructionAdmin(ServiceAdmin):
    """Adding or changing an SSI proposes it (maker-checker); the row changes when another user approves."""

    list_display = ("id", "counterparty", "market", "depository_bic", "place_of_settlement_bic", "agent_bic",
                    "safekeeping_account", "effective_from", "effective_to")
    list_filter = ("market", "effective_from")
    search_fields = ("=counterparty__code", "safekeeping_account", "depository_bic", "agent_bic")
    list_select_related = ("counterparty", "market")
    key_fields = ("counterparty", "market")
    readonly_always = ("created_at", "updated_at")

    def service_save(self, *, actor, form):
        data = form.cleaned_data
        if form.instance._state.adding:
            payload = {"counterparty": data["counterparty"].code,
                       "market": data["market"].mic if data.get("market") else None,
                       **{name: _payload_value(data.get(name)) for name in CHANGEABLE_FIELDS}}
        else:
            payload = {"id": form.instance.pk,
                       "changes": {name: _payload_value(data.get(name)) for name in form.changed_data
                                   if name in CHANGEABLE_FIELDS}}
        return approvals.change_propose(actor=actor, kind=SSI_CHANGE, payload=payload,
                                        reason=data.get("reason") or PROPOSED_IN_ADMIN)

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
        self.message_user(request, f"Submitted for approval as change #{proposal.pk}: {proposal.summary}",
                          messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:settlements_standingsettlementinstruction_changelist"))

    def response_add(self, request, obj, post_url_continue=None):
        return self._proposed(request)

    def response_change(self, request, obj):
        return self._proposed(request)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "GET":
            for pending in (approval_selectors.change_request_list()
                            .filter(kind=SSI_CHANGE, status="PENDING", target_id=str(object_id)).order_by("id")):
                self.message_user(request, f"Change #{pending.pk} awaits approval: {pending.summary}",
                                  messages.WARNING)
        return super().change_view(request, object_id, form_url, extra_context)
