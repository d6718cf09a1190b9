"""Admin of accounting.

The ledger is read-only here: entries and their lines are posted by the posting engine or, for manual
entries, through maker-checker (the journal pages and the API); periods close and reopen on their page;
cost lots, posting state and reconciliations are the engine's working records. GL accounts are reference
data under maker-checker: saving a new one or a change proposes it as a "glaccount.change"
(accounting/chart/kinds.py), which takes effect when another accounting user approves it; a rule the
proposal would break (a code taken, a parent of another type, a role in use) shows on the form.
"""

from django.contrib import admin

from accounting.chart.kinds import GLACCOUNT_CHANGE
from accounting.chart.validators import CHANGEABLE
from accounting.models import (
    CostLot,
    GLAccount,
    JournalEntry,
    JournalLine,
    Period,
    PostingState,
    ReconciliationBreak,
    ReconciliationRun,
)
from backoffice.core.admin import LargeTablePaginator, ReadOnlyAdmin, ReadOnlyInline, decimal_column
from records.approvals import services as approvals
from records.approvals.admin import ProposingAdmin

PROPOSED_IN_ADMIN = "proposed in the admin"


@admin.register(GLAccount)
class GLAccountAdmin(ProposingAdmin):
    """Adding or changing an account proposes it (maker-checker); the row changes when another user approves."""

    change_kind = GLACCOUNT_CHANGE
    approvers = "another accounting user"

    list_display = ("code", "name", "type", "parent", "role", "is_monetary", "is_active")
    list_filter = ("type", "is_active", "is_monetary")
    search_fields = ("code", "name", "role")
    list_select_related = ("parent",)
    ordering = ("code",)
    key_fields = ("code", "type")
    readonly_always = ("created_at", "updated_at")

    def service_save(self, *, actor, form):
        data = form.cleaned_data
        parent = data.get("parent")
        values = {"name": data.get("name"), "parent": parent.code if parent else None,
                  "role": data.get("role") or None, "is_monetary": data.get("is_monetary"),
                  "is_active": data.get("is_active")}
        if form.instance._state.adding:
            payload = {"code": data.get("code"), "type": data.get("type"), **values}
        else:
            payload = {"code": form.instance.code,
                       "changes": {name: values[name] for name in form.changed_data if name in CHANGEABLE}}
        return approvals.change_propose(actor=actor, kind=GLACCOUNT_CHANGE, payload=payload,
                                        reason=data.get("reason") or PROPOSED_IN_ADMIN)

    def pending_target(self, object_id) -> str | None:
        account = GLAccount.objects.filter(pk=object_id).first() if str(object_id).isdigit() else None
        return account.code if account is not None else None


@admin.register(Period)
class PeriodAdmin(ReadOnlyAdmin):
    """Closed and reopened on the periods page (/accounting/periods/), where reopening goes through maker-checker."""

    list_display = ("start", "end", "status", "closed_at", "closed_by")
    list_filter = ("status",)
    list_select_related = ("closed_by",)
    ordering = ("-start",)


class JournalLineInline(ReadOnlyInline):
    model = JournalLine
    fields = ("gl_account", "account", "instrument", "currency", "amount", "base_amount", "fx_rate", "quantity")
    readonly_fields = fields
    ordering = ("id",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("gl_account", "account", "instrument")


@admin.register(JournalEntry)
class JournalEntryAdmin(ReadOnlyAdmin):
    list_display = ("id", "entry_date", "source_type", "source_id", "rule", "account", "currency", "description",
                    "reversal_of", "posted_at", "posted_by")
    list_filter = ("source_type", "entry_date")
    search_fields = ("=id", "=source_id", "rule", "=account__code")
    search_help_text = "An entry or source id, a rule, or an account code (exact)."
    list_select_related = ("account", "posted_by")
    show_full_result_count = False
    paginator = LargeTablePaginator
    ordering = ("-id",)
    raw_id_fields = ("reversal_of", "job")
    inlines = [JournalLineInline]


@admin.register(CostLot)
class CostLotAdmin(ReadOnlyAdmin):
    list_display = ("id", "account", "instrument", "currency", "opened_on", decimal_column("quantity"),
                    decimal_column("cost"), "opened_by")
    search_fields = ("=account__code", "=instrument__isin")
    list_select_related = ("account", "instrument")
    show_full_result_count = False
    paginator = LargeTablePaginator
    ordering = ("-id",)
    raw_id_fields = ("opened_by",)


@admin.register(PostingState)
class PostingStateAdmin(ReadOnlyAdmin):
    list_display = ("id", "source_type", "source_id", "account", "instrument", "version", "generation", "entry")
    list_filter = ("source_type",)
    search_fields = ("=source_id", "=account__code", "=instrument__isin")
    list_select_related = ("account", "instrument")
    show_full_result_count = False
    paginator = LargeTablePaginator
    ordering = ("-id",)
    raw_id_fields = ("entry",)


class ReconciliationBreakInline(ReadOnlyInline):
    model = ReconciliationBreak
    fields = ("kind", "account", "instrument", "currency", "ledger", "records", "difference")
    readonly_fields = fields


@admin.register(ReconciliationRun)
class ReconciliationRunAdmin(ReadOnlyAdmin):
    list_display = ("id", "as_of", "job", "positions_checked", "balances_checked", "breaks", "created_at")
    list_filter = ("as_of",)
    ordering = ("-id",)
    readonly_fields = ("job", "as_of", "created_at", "positions_checked", "balances_checked", "breaks")
    inlines = [ReconciliationBreakInline]


@admin.register(ReconciliationBreak)
class ReconciliationBreakAdmin(ReadOnlyAdmin):
    list_display = ("id", "run", "kind", "account", "instrument", "currency", "ledger", "records", "difference")
    list_filter = ("kind",)
    search_fields = ("=run__id", "=account__code", "=instrument__isin")
    list_select_related = ("run", "account", "instrument")
    ordering = ("-id",)
