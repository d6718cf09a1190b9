"""Admin of settlements' instructions models (loaded by settlements/admin.py).

Settlement instructions are read-only here: a clearing run creates them, operations adjust them on their
dashboard page (allow-partial, a counterparty's failure) and settlement runs settle them. Standing settlement
instructions are reference data under maker-checker: saving a new one or a change proposes it as an
"ssi.change" (settlements/instructions/kinds.py), which takes effect when another operations user approves it
(Pending approvals, or the API); a rule the proposal would break (a bad BIC, a duplicate start) shows on the form.
"""

from django.contrib import admin

from backoffice.core.admin import LargeTablePaginator, ReadOnlyAdmin, decimal_column
from records.approvals import services as approvals
from records.approvals.admin import ProposingAdmin
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
class StandingSettlementInstructionAdmin(ProposingAdmin):
    """Adding or changing an SSI proposes it (maker-checker); the row changes when another user approves."""

    change_kind = SSI_CHANGE
    approvers = "another operations user"

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
