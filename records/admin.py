"""The Django admin for the books and records.

Reference data (instruments, accounts, counterparties, prices, FX rates) is saved through the
records services, so every save writes its audit record and obeys the same business rules as the
API; a rule the service refuses shows as a form error. Saving a change to an existing instrument,
account or counterparty does not change it: it proposes the change (maker-checker), which takes
effect when a different user approves it; proposals are decided under "Change requests". Markets
have no service: the admin writes their audit record itself. Cash, positions, their movements and
the audit trail are read-only here: balances and positions change only through movements booked by
services. Trades, their versions and lifecycle events are read-only too: they change only through
the trade-capture services (the API). Nothing is deleted from the admin: records are retained.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.paginator import Paginator
from django.db import connections, transaction
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join

from backoffice.core.exceptions import BusinessRuleError
from backoffice.core.fields import format_decimal

from . import selectors
from .models import (
    Account,
    AuditBlock,
    AuditRecord,
    AuditSeal,
    AuditVerification,
    CashBalance,
    CashMovement,
    ChangeRequest,
    Counterparty,
    ExportManifest,
    FxRate,
    Instrument,
    LegalHold,
    Market,
    Position,
    Price,
    RetentionPolicy,
    StockMovement,
    Trade,
    TradeEvent,
    TradeVersion,
)
from .services import approvals, reference, retention
from .services.audit import audit_log, snapshot
from .services.reference import PriceInput

admin.site.site_header = "Back-office administration"
admin.site.site_title = "Back-office administration"

ADMIN_REASON = "changed in the admin"
DECIDED_IN_ADMIN = "decided in the admin"
PROPOSED_IN_ADMIN = "proposed in the admin"


def decimal_column(field_name: str, description: str | None = None):
    """A list column showing a decimal without trailing zeros (189.25, not 189.25000000)."""

    @admin.display(description=description or field_name.replace("_", " "), ordering=field_name)
    def column(obj):
        return format_decimal(getattr(obj, field_name))

    column.__name__ = f"{field_name}_display"
    return column


class RetainedRecordsAdmin(admin.ModelAdmin):
    """Records are retained: nothing is deleted from the admin."""

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(RetainedRecordsAdmin):
    """Viewable, never added or changed here: these rows change only through services."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class _DryRun(Exception):
    """Raised to roll back a trial save made while validating a form."""


class ServiceModelForm(forms.ModelForm):
    """A model form whose save goes through a records service.

    Validation ends with a trial run of that service in a savepoint that is rolled back, so a
    business rule the service enforces (and the model does not) shows as a form error, and the
    real save in ``save_model`` does not fail for a reason the user could have fixed.
    """

    reason = forms.CharField(required=False, max_length=500, help_text="Why: kept in the audit trail.")

    # Set on the class by ServiceAdmin.get_form: the admin that saves, and the user it saves for.
    model_admin = None
    actor = None

    def _post_clean(self):
        super()._post_clean()
        if self.errors or self.model_admin is None:
            return
        try:
            with transaction.atomic():
                self.model_admin.service_save(actor=self.actor, form=self)
                raise _DryRun
        except _DryRun:
            pass
        except BusinessRuleError as exc:
            self.add_service_error(exc)

    def add_service_error(self, exc: BusinessRuleError) -> None:
        if exc.field in self.fields:
            self.add_error(exc.field, exc.message)
        elif exc.field == "non_field_errors":
            self.add_error(None, exc.message)
        else:  # about a read-only field
            self.add_error(None, f"{exc.field}: {exc.message}")


class ServiceAdmin(RetainedRecordsAdmin):
    """Reference data saved through a records service, with an audit record per save.

    Subclasses implement ``service_save(actor=, form=)``: create or update through the service and
    return the saved row, without touching ``form.instance`` (it also runs as a trial, rolled back).
    """

    form = ServiceModelForm
    # Business keys: editable when adding, read-only once created.
    key_fields: tuple[str, ...] = ()
    # Shown once the row exists, not when adding (the service's create takes no such argument).
    change_only_fields: tuple[str, ...] = ()
    readonly_always: tuple[str, ...] = ()

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return self.readonly_always
        return (*self.key_fields, *self.readonly_always)

    def get_fields(self, request, obj=None):
        # Business keys first (read-only ones would otherwise come last), then the rest, the
        # reason for the change, and the timestamps.
        fields = list(super().get_fields(request, obj))
        last = ("reason", *self.readonly_always)
        head = [f for f in self.key_fields if f in fields]
        middle = [f for f in fields if f not in head and f not in last]
        return [*head, *middle, *(f for f in last if f in fields)]

    def get_exclude(self, request, obj=None):
        excluded = tuple(super().get_exclude(request, obj) or ())
        return excluded if obj is not None else (*excluded, *self.change_only_fields)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)
        # modelform_factory made a fresh class for this request: bind it to us and the user.
        form_class.model_admin = self
        form_class.actor = request.user
        return form_class

    def save_model(self, request, obj, form, change):
        saved = self.service_save(actor=request.user, form=form)
        # The admin goes on with obj (change message, redirect): make it the saved row.
        obj.pk = saved.pk
        obj._state.adding = False
        obj.refresh_from_db()

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except BusinessRuleError as exc:
            # The rule held in the trial run but not in the real save: someone changed the same
            # records in between. Nothing was saved (the view's transaction rolled back).
            self.message_user(request, f"Not saved: {exc.message}", level=messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def service_save(self, *, actor, form):
        raise NotImplementedError

    @staticmethod
    def reason(form) -> str:
        return form.cleaned_data.get("reason") or ADMIN_REASON

    @staticmethod
    def changes(form) -> dict:
        """Return {field: new value} of the model fields the user changed."""
        model_fields = {f.name for f in form._meta.model._meta.concrete_fields}
        return {name: form.cleaned_data[name] for name in form.changed_data if name in model_fields}


class FourEyesAdmin(ServiceAdmin):
    """Reference data whose changes go through maker-checker (records.services.approvals).

    Adding a row is direct. Saving an existing one proposes the change and leaves the row as it
    is; it takes effect when a different user approves it (here, on the dashboard or through the
    API). Subclasses name the kind of change and the business key its payload carries.
    """

    change_kind = ""  # e.g. "account.update"
    key_field = ""  # e.g. "code"

    def service_create(self, *, actor, form):
        raise NotImplementedError

    def service_save(self, *, actor, form):
        if form.instance._state.adding:
            return self.service_create(actor=actor, form=form)
        return approvals.change_propose(
            actor=actor, kind=self.change_kind, reason=form.cleaned_data.get("reason") or PROPOSED_IN_ADMIN,
            payload={self.key_field: getattr(form.instance, self.key_field),
                     "changes": approvals.to_payload(self.changes(form))})

    def save_model(self, request, obj, form, change):
        if not change:
            return super().save_model(request, obj, form, change)
        request._proposed_change = self.service_save(actor=request.user, form=form)
        # The form wrote the proposed values onto obj: show the row as it still is.
        obj.refresh_from_db()
        return None

    def log_change(self, request, obj, message):
        proposal = getattr(request, "_proposed_change", None)
        if proposal is not None:
            message = f"Proposed change #{proposal.pk} for approval: {proposal.summary}"
        return super().log_change(request, obj, message)

    def response_change(self, request, obj):
        proposal = getattr(request, "_proposed_change", None)
        if proposal is None:
            return super().response_change(request, obj)
        self.message_user(request, f"Change submitted for approval as #{proposal.pk}", messages.SUCCESS)
        if "_continue" in request.POST:
            return HttpResponseRedirect(request.path)
        return HttpResponseRedirect(reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_changelist"))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "GET":
            obj = self.get_object(request, object_id)
            if obj is not None:
                for pending in ChangeRequest.objects.filter(kind=self.change_kind, status=ChangeRequest.Status.PENDING,
                                                            target_id=getattr(obj, self.key_field)).order_by("id"):
                    self.message_user(request, f"Change #{pending.pk} awaits approval: {pending.summary}",
                                      messages.WARNING)
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(Market)
class MarketAdmin(RetainedRecordsAdmin):
    list_display = ("mic", "name", "country", "settlement_calendar")
    list_filter = ("settlement_calendar", "country")
    search_fields = ("mic", "name")

    def get_readonly_fields(self, request, obj=None):
        # Instruments refer to a market by its MIC.
        return ("mic",) if obj is not None else ()

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            before = snapshot(Market.objects.select_for_update().get(pk=obj.pk)) if change else None
            obj.save()
            after = snapshot(obj)
            if before != after:
                audit_log(actor=request.user, action="UPDATE" if change else "CREATE", instance=obj,
                          before=before, after=after, reason=ADMIN_REASON)


@admin.register(Instrument)
class InstrumentAdmin(FourEyesAdmin):
    list_display = ("isin", "symbol", "name", "asset_class", "currency", "market", "settlement_cycle", "is_active")
    list_filter = ("asset_class", "market", "currency", "is_active")
    search_fields = ("isin", "symbol", "name")
    list_select_related = ("market",)
    key_fields = ("isin",)
    change_only_fields = ("is_active",)
    readonly_always = ("created_at", "updated_at")
    change_kind, key_field = "instrument.update", "isin"

    def service_create(self, *, actor, form):
        data = form.cleaned_data
        return reference.instrument_create(
            actor=actor, isin=data["isin"], symbol=data["symbol"], name=data["name"],
            asset_class=data["asset_class"], currency=data["currency"], market=data["market"],
            settlement_cycle=data.get("settlement_cycle"), reason=self.reason(form))


@admin.register(Account)
class AccountAdmin(FourEyesAdmin):
    list_display = ("code", "name", "kind", "base_currency", "status", "cost_method", "allow_partial_settlement",
                    decimal_column("credit_limit"))
    list_filter = ("kind", "status", "base_currency", "cost_method", "allow_partial_settlement")
    search_fields = ("code", "name")
    key_fields = ("code",)
    readonly_always = ("created_at", "updated_at")
    change_kind, key_field = "account.update", "code"

    def service_create(self, *, actor, form):
        data = form.cleaned_data
        return reference.account_create(
            actor=actor, code=data["code"], name=data["name"], kind=data["kind"],
            base_currency=data["base_currency"], status=data["status"], cost_method=data["cost_method"],
            allow_partial_settlement=data["allow_partial_settlement"], credit_limit=data["credit_limit"],
            reason=self.reason(form))


@admin.register(Counterparty)
class CounterpartyAdmin(FourEyesAdmin):
    list_display = ("code", "name", "lei", "is_ccp", "clears_through", "requires_matching")
    list_filter = ("is_ccp", "requires_matching", "clears_through")
    search_fields = ("code", "name", "lei")
    list_select_related = ("clears_through",)
    key_fields = ("code",)
    readonly_always = ("created_at", "updated_at")
    change_kind, key_field = "counterparty.update", "code"

    def service_create(self, *, actor, form):
        data = form.cleaned_data
        return reference.counterparty_create(
            actor=actor, code=data["code"], name=data["name"], lei=data["lei"], is_ccp=data["is_ccp"],
            clears_through=data["clears_through"], requires_matching=data["requires_matching"],
            reason=self.reason(form))


@admin.register(Price)
class PriceAdmin(ServiceAdmin):
    list_display = ("instrument", "price_date", decimal_column("price"), "currency", "source", "updated_at")
    list_filter = ("source", "currency", "instrument__asset_class", "instrument__market")
    search_fields = ("=instrument__isin", "instrument__symbol")
    date_hierarchy = "price_date"
    list_select_related = ("instrument",)
    show_full_result_count = False
    autocomplete_fields = ("instrument",)
    # A price is keyed by (instrument, date, source); only the price itself changes.
    key_fields = ("instrument", "price_date", "currency", "source")
    readonly_always = ("created_at", "updated_at")

    def service_save(self, *, actor, form):
        data, price = form.cleaned_data, form.instance
        if price._state.adding:
            item = PriceInput(instrument=data["instrument"], price_date=data["price_date"], price=data["price"],
                              currency=data["currency"], source=data["source"])
        else:
            item = PriceInput(instrument=price.instrument, price_date=price.price_date, price=data["price"],
                              currency=price.currency, source=price.source)
        result = reference.price_upsert(actor=actor, prices=[item], reason=self.reason(form))
        return (result.created or result.updated)[0]


@admin.register(FxRate)
class FxRateAdmin(ServiceAdmin):
    list_display = ("base_currency", "quote_currency", "rate_date", decimal_column("rate"), "source")
    list_filter = ("base_currency", "quote_currency", "source")
    search_fields = ("=base_currency", "=quote_currency")
    date_hierarchy = "rate_date"
    show_full_result_count = False
    key_fields = ("base_currency", "quote_currency", "rate_date", "source")
    readonly_always = ("created_at",)

    def service_save(self, *, actor, form):
        data, fx = form.cleaned_data, form.instance
        key = data if fx._state.adding else {name: getattr(fx, name) for name in self.key_fields}
        return reference.fx_rate_upsert(
            actor=actor, base_currency=key["base_currency"], quote_currency=key["quote_currency"],
            rate_date=key["rate_date"], rate=data["rate"], source=key["source"], reason=self.reason(form))


@admin.register(CashMovement)
class CashMovementAdmin(ReadOnlyAdmin):
    list_display = ("reference", "account", "currency", decimal_column("amount"), "value_date", "kind",
                    "created_by", "created_at")
    list_filter = ("kind", "currency")
    search_fields = ("=reference", "=account__code")
    date_hierarchy = "value_date"
    list_select_related = ("account", "created_by")
    show_full_result_count = False


@admin.register(CashBalance)
class CashBalanceAdmin(ReadOnlyAdmin):
    list_display = ("account", "currency", decimal_column("balance"), decimal_column("reserved"), "available_display",
                    "updated_at")
    list_filter = ("currency", "account__kind")
    search_fields = ("=account__code", "account__name")
    list_select_related = ("account",)
    show_full_result_count = False

    @admin.display(description="available")
    def available_display(self, obj):
        return format_decimal(obj.available)


@admin.register(Position)
class PositionAdmin(ReadOnlyAdmin):
    list_display = ("account", "instrument", decimal_column("traded_quantity"), decimal_column("settled_quantity"),
                    decimal_column("pending_receipt"), decimal_column("pending_delivery"), "updated_at")
    list_filter = ("instrument__asset_class", "instrument__market", "account__kind")
    search_fields = ("=account__code", "=instrument__isin", "instrument__symbol")
    list_select_related = ("account", "instrument")
    show_full_result_count = False


@admin.register(StockMovement)
class StockMovementAdmin(ReadOnlyAdmin):
    list_display = ("reference", "account", "instrument", decimal_column("quantity"), "value_date", "kind",
                    "created_by", "created_at")
    list_filter = ("kind",)
    search_fields = ("=reference", "=account__code", "=instrument__isin")
    date_hierarchy = "value_date"
    list_select_related = ("account", "instrument", "created_by")
    show_full_result_count = False


@admin.register(AuditRecord)
class AuditRecordAdmin(ReadOnlyAdmin):
    list_display = ("at", "actor_label", "action", "record_type", "record_id", "reason", "correlation_id")
    list_filter = ("action", "record_type")
    search_fields = ("=record_id", "=actor_label", "=correlation_id")
    date_hierarchy = "at"
    show_full_result_count = False


# Trades -----------------------------------------------------------------------------------------

class LargeTablePaginator(Paginator):
    """A paginator that does not count a whole million-row table to draw its page links.

    Unfiltered on PostgreSQL, it uses the planner's row estimate (pg_class.reltuples) once that is
    above ESTIMATE_ABOVE; filtered lists, small tables and other databases are counted exactly.
    """

    ESTIMATE_ABOVE = 100_000

    @cached_property
    def count(self):
        queryset = self.object_list
        connection = connections[queryset.db]
        if not queryset.query.where:
            with connection.cursor() as cursor:
                cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                               [queryset.model._meta.db_table])
                row = cursor.fetchone()
            if row and row[0] > self.ESTIMATE_ABOVE:
                return row[0]
        return super().count


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class TradeVersionInline(ReadOnlyInline):
    model = TradeVersion
    verbose_name_plural = "superseded versions"
    fields = ("version", "quantity_display", "price_display", "settlement_date", "commission_display", "status",
              "superseded_at", "superseded_by", "reason")
    readonly_fields = fields
    quantity_display = staticmethod(decimal_column("quantity"))
    price_display = staticmethod(decimal_column("price"))
    commission_display = staticmethod(decimal_column("commission"))

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("superseded_by")


class TradeEventInline(ReadOnlyInline):
    model = TradeEvent
    verbose_name_plural = "lifecycle"
    fields = ("at", "action", "from_status", "to_status", "actor_label", "reason")
    readonly_fields = fields
    ordering = ("at", "id")


@admin.register(Trade)
class TradeAdmin(ReadOnlyAdmin):
    list_display = ("id", "external_ref", "trade_date", "settlement_date", "account", "counterparty", "instrument",
                    "side", decimal_column("quantity"), decimal_column("price"), "currency",
                    decimal_column("commission"), "status", "match_status", "version")
    list_display_links = ("id", "external_ref")
    list_filter = ("status", "side", "match_status", "trade_date")
    # Searched by selectors.trade_search (indexed lookups), not by these fields' default lookups.
    search_fields = ("external_ref", "account__code", "instrument__isin")
    search_help_text = "An external ref (end with * for a prefix), an account code or an ISIN."
    list_select_related = ("account", "counterparty", "instrument")
    show_full_result_count = False
    paginator = LargeTablePaginator
    ordering = ("-id",)
    inlines = (TradeVersionInline, TradeEventInline)

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        return selectors.trade_search(queryset, search_term), False


@admin.register(TradeVersion)
class TradeVersionAdmin(ReadOnlyAdmin):
    list_display = ("trade", "version", decimal_column("quantity"), decimal_column("price"), "settlement_date",
                    decimal_column("commission"), "status", "superseded_at", "superseded_by", "reason")
    list_filter = ("status",)
    search_fields = ("^trade__external_ref", "=trade__account__code", "=trade__instrument__isin")
    list_select_related = ("trade", "superseded_by")
    show_full_result_count = False
    paginator = LargeTablePaginator


@admin.register(TradeEvent)
class TradeEventAdmin(ReadOnlyAdmin):
    list_display = ("trade", "at", "action", "from_status", "to_status", "actor_label", "reason")
    list_filter = ("action", "to_status")
    search_fields = ("^trade__external_ref", "=actor_label")
    list_select_related = ("trade",)
    show_full_result_count = False
    paginator = LargeTablePaginator
    ordering = ("-id",)


# The audit chain -----------------------------------------------------------------------------------

@admin.register(AuditBlock)
class AuditBlockAdmin(ReadOnlyAdmin):
    list_display = ("id", "sealed_at", "sealed_by", "first_record_id", "last_record_id", "record_count",
                    "short_hash", "pruned_at")
    list_filter = ("sealed_by",)
    date_hierarchy = "sealed_at"
    show_full_result_count = False

    @admin.display(description="hash")
    def short_hash(self, block):
        return f"{block.hash[:16]}…"


@admin.register(AuditSeal)
class AuditSealAdmin(ReadOnlyAdmin):
    list_display = ("record_id", "block_id")
    search_fields = ("=record__id", "=block__id")
    show_full_result_count = False


@admin.register(AuditVerification)
class AuditVerificationAdmin(ReadOnlyAdmin):
    list_display = ("id", "finished_at", "requested_by", "ok", "records_checked", "blocks_checked", "unsealed",
                    "first_problem")
    list_filter = ("ok",)
    search_fields = ("=requested_by",)
    date_hierarchy = "finished_at"

    @admin.display(description="first broken link")
    def first_problem(self, verification):
        broken = verification.first_broken or {}
        return broken.get("problem", "")


# Maker-checker ----------------------------------------------------------------------------------

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
        rows = approvals.change_diff(obj)
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


# Retention, legal holds and exports ---------------------------------------------------------------

@admin.register(RetentionPolicy)
class RetentionPolicyAdmin(ServiceAdmin):
    """Periods are changed here through records.services.retention (audited; never below the SEC minimum).
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


@admin.register(ExportManifest)
class ExportManifestAdmin(ReadOnlyAdmin):
    list_display = ("business_date", "date_from", "date_to", "file_count", "created_at", "created_by")
    date_hierarchy = "business_date"

    @admin.display(description="files")
    def file_count(self, manifest):
        return len(manifest.files)
