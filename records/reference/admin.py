"""The admin of reference data: markets, instruments, accounts, counterparties, prices and FX rates.

Instruments, accounts, counterparties, prices and FX rates are saved through the reference
services, so every save writes its audit record and obeys the same business rules as the API; a
rule the service refuses shows as a form error. Saving a change to an existing instrument, account
or counterparty does not change it: it proposes the change (maker-checker), which takes effect when
a different user approves it; proposals are decided under "Change requests". Markets have no
service: the admin writes their audit record itself.
"""

from django.contrib import admin, messages
from django.db import transaction
from django.http import HttpResponseRedirect
from django.urls import reverse

from backoffice.core.admin import ADMIN_REASON, RetainedRecordsAdmin, ServiceAdmin, decimal_column
from records.approvals import services as approvals
from records.approvals.models import ChangeRequest
from records.audit.services.audit import audit_log, snapshot
from records.reference.models import Account, Counterparty, FxRate, Instrument, Market, Price
from records.reference.services import reference
from records.reference.services.reference import PriceInput

PROPOSED_IN_ADMIN = "proposed in the admin"


class FourEyesAdmin(ServiceAdmin):
    """Reference data whose changes go through maker-checker (records.approvals.services).

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
                    decimal_column("credit_limit"), "kyc_review_due", "beneficial_owner")
    list_filter = ("kind", "status", "base_currency", "cost_method", "allow_partial_settlement", "kyc_review_due")
    search_fields = ("code", "name", "beneficial_owner")
    key_fields = ("code",)
    readonly_always = ("created_at", "updated_at")
    change_kind, key_field = "account.update", "code"

    def service_create(self, *, actor, form):
        data = form.cleaned_data
        return reference.account_create(
            actor=actor, code=data["code"], name=data["name"], kind=data["kind"],
            base_currency=data["base_currency"], status=data["status"], cost_method=data["cost_method"],
            allow_partial_settlement=data["allow_partial_settlement"], credit_limit=data["credit_limit"],
            kyc_review_due=data.get("kyc_review_due"), beneficial_owner=data.get("beneficial_owner", ""),
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
