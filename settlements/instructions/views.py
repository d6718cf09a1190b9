"""Dashboard pages of settlements' instructions (included by settlements/urls.py): the settlement queue, an
instruction (with allow-partial and a counterparty's failure for operations), standing settlement instructions
(with a form proposing a new or changed one under maker-checker).

Operations, compliance and accounting read every page; operations acts. Thin: parse, call one service or
selector, shape; a refusal is shown on the form or as a message, never as a 500.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from backoffice.core import roles
from backoffice.core.exceptions import BusinessRuleError, ConflictError
from backoffice.core.forms import DateInput, ReferenceFilterForm, page_of, with_all
from records.approvals import kinds as approval_kinds
from records.approvals import selectors as approval_selectors
from records.approvals import services as approvals
from records.reference import selectors as reference_selectors
from settlements.instructions import selectors
from settlements.instructions.kinds import SSI_CHANGE, ssi_view
from settlements.instructions.services import instructions as services
from settlements.instructions.validators import BIC_FIELDS, CHANGEABLE_FIELDS
from settlements.models import SettlementInstruction

READERS = (roles.OPERATIONS, roles.COMPLIANCE, roles.ACCOUNTING)
WRITERS = (roles.OPERATIONS,)
Status = SettlementInstruction.Status
OPEN = (Status.HELD, Status.PENDING, Status.PARTIAL, Status.FAILED)
ALL = "ALL"


def _url_or_none(name: str, *args) -> str | None:
    """The URL of a page another part of settlements may or may not have registered yet (fails, XML messages)."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def _filtered(request) -> bool:
    return any(value.strip() for name, value in request.GET.items() if name not in ("page", "status"))


# --- the settlement queue ---

class QueueFilterForm(ReferenceFilterForm):
    settlement_date = forms.DateField(required=False, label="Settles on", widget=DateInput)
    status = forms.ChoiceField(required=False, label="Status", choices=[
        ("", "Open (held, pending, partial, failed)"), (ALL, "All"), *Status.choices])
    account = forms.CharField(required=False, max_length=30, label="Account",
                              widget=forms.TextInput(attrs={"placeholder": "Account code", "class": "medium"}))
    counterparty = forms.CharField(required=False, max_length=30, label="Counterparty",
                                   widget=forms.TextInput(attrs={"placeholder": "Code (or its CCP)",
                                                                 "class": "medium"}))
    instrument = forms.CharField(required=False, max_length=20, label="Instrument",
                                 widget=forms.TextInput(attrs={"placeholder": "ISIN or symbol", "class": "medium"}))
    direction = forms.ChoiceField(required=False, choices=with_all(SettlementInstruction.Direction.choices))
    currency = forms.CharField(required=False, max_length=3, label="Ccy",
                               widget=forms.TextInput(attrs={"placeholder": "USD", "class": "narrow"}))

    reference_fields = ("account", "counterparty", "instrument")

    def clean_account(self):
        return self._resolve("account", reference_selectors.account_find, "account")

    def clean_counterparty(self):
        return self._resolve("counterparty", reference_selectors.counterparty_find, "counterparty")

    def clean_instrument(self):
        return self._resolve("instrument", reference_selectors.instruments_find, "instrument with ISIN or symbol")

    def clean_currency(self):
        return (self.cleaned_data.get("currency") or "").strip().upper()

    def queue_filters(self) -> tuple[dict | None, str]:
        """The selector's filters (None: a reference names nothing) without the status, and the status asked for."""
        filters = self.selector_filters()
        if filters is None:
            return None, ""
        status = filters.pop("status", "")
        if "instrument" in filters:
            filters["instruments"] = filters.pop("instrument")
        return filters, status


@login_required
def instruction_list(request, *, gross_form=None, status=200):
    roles.require_role(request, READERS)
    page_status = status
    form = QueueFilterForm(request.GET)
    filters, status = form.queue_filters()
    rows = selectors.instruction_list(**(filters or {}))
    if filters is None:
        rows = rows.none()
    # Settled and cancelled instructions pile up day after day: they are counted for a settlement date only.
    dated = bool(filters and filters.get("settlement_date"))
    counts = selectors.instruction_status_counts(rows if dated else rows.filter(status__in=OPEN))
    if not dated:
        counts.update({Status.SETTLED: None, Status.CANCELLED: None})
    if status == ALL:
        shown = rows
    elif status:
        shown = rows.filter(status=status)
    else:
        shown = rows.filter(status__in=OPEN)
    page = page_of(request, selectors.instruction_queue_order(shown))
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("status", None)
    chips = [{"code": "", "label": "Open", "count": sum(counts[s] for s in OPEN), "active": not status},
             *({"code": code, "label": label, "count": counts[code], "active": status == code}
               for code, label in Status.choices),
             {"code": ALL, "label": "All", "count": sum(counts.values()) if dated else None, "active": status == ALL}]
    return render(request, "settlements/instruction_list.html", {
        "form": form, "page": page, "totals": selectors.instruction_totals(shown), "chips": chips,
        "base_query": query.urlencode(), "filtered": _filtered(request), "today": timezone.localdate(),
        "status": status, "can_write": roles.user_has_role(request.user, *WRITERS),
        "gross_form": gross_form or GrossInstructionForm(prefix="gross"),
    }, status=page_status)


class GrossInstructionForm(forms.Form):
    trade = forms.IntegerField(min_value=1, max_value=2**63 - 1, label="Trade ID",
                               widget=forms.NumberInput(attrs={"class": "short", "placeholder": "e.g. 4182"}))
    reason = forms.CharField(required=False, max_length=200, label="Why gross",
                             widget=forms.TextInput(attrs={"class": "wide",
                                                           "placeholder": "e.g. late trade, settles outside the run"}))


@login_required
@require_POST
def instruction_gross(request):
    """Instruct one booked trade gross, outside netting (instruction_create_for_trade); errors on the queue page."""
    roles.require_role(request, WRITERS)
    form = GrossInstructionForm(request.POST, prefix="gross")
    if form.is_valid():
        try:
            instruction = services.instruction_create_for_trade(actor=request.user,
                                                                trade_id=form.cleaned_data["trade"],
                                                                reason=form.cleaned_data["reason"])
        except BusinessRuleError as exc:
            form.add_error("trade", exc.message)
        else:
            messages.success(request, f"Trade {form.cleaned_data['trade']} is instructed gross: "
                                      f"instruction {instruction.pk}.")
            return redirect("settlements:instruction-detail", instruction_id=instruction.pk)
    return instruction_list(request, gross_form=form, status=400)


# --- one instruction ---

class AllowPartialForm(forms.Form):
    allow_partial = forms.TypedChoiceField(label="Partial settlement", coerce=lambda value: value == "yes",
                                           choices=[("yes", "Allowed"), ("no", "Not allowed")],
                                           widget=forms.HiddenInput)
    reason = forms.CharField(required=False, max_length=500, label="Reason",
                             widget=forms.TextInput(attrs={"class": "wide", "placeholder": "optional"}))


class CounterpartyFailForm(forms.Form):
    reason = forms.CharField(max_length=200, label="What they failed to do",
                             widget=forms.TextInput(attrs={"class": "wide",
                                                           "placeholder": "e.g. no securities at their agent"}))


def _instruction_or_404(instruction_id: int) -> SettlementInstruction:
    instruction = selectors.instruction_get(instruction_id)
    if instruction is None:
        raise Http404("No such settlement instruction.")
    return instruction


def _instruction_page(request, instruction, *, partial_form=None, fail_form=None, status=200):
    roles.require_role(request, READERS)
    may_act = roles.user_has_role(request.user, *WRITERS)
    fail = selectors.instruction_fail(instruction)
    return render(request, "settlements/instruction_detail.html", {
        "instruction": instruction,
        "trades": selectors.instruction_trades(instruction),
        "movements": selectors.instruction_movements(instruction),
        "fail": fail,
        "fail_url": _url_or_none("settlements:fail-detail", fail.pk) if fail is not None else None,
        "xml_url": _url_or_none("settlements:instruction-sese023", instruction.pk),
        "may_act": may_act,
        "may_change_partial": instruction.status not in selectors.ALLOW_PARTIAL_LOCKED,
        "may_record_fail": instruction.status not in selectors.COUNTERPARTY_FAIL_LOCKED,
        # The form offers the other setting: one button, "Forbid ..." or "Allow ...".
        "partial_form": partial_form or AllowPartialForm(
            prefix="partial", initial={"allow_partial": "no" if instruction.allow_partial else "yes"}),
        "fail_form": fail_form or CounterpartyFailForm(prefix="fail"),
        "ssi_proposal_url": (f"{reverse('settlements:ssis')}?counterparty={instruction.counterparty.code}"
                             f"&market={instruction.instrument.market_id}#propose"),
    }, status=status)


@login_required
def instruction_detail(request, instruction_id: int):
    return _instruction_page(request, _instruction_or_404(instruction_id))


def _refused(request, instruction, form, exc: BusinessRuleError):
    """A conflict (the instruction moved on) as a message above the instruction; anything else on the form."""
    if isinstance(exc, ConflictError):
        messages.error(request, exc.message)
        return redirect("settlements:instruction-detail", instruction_id=instruction.pk)
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)
    return None


@login_required
@require_POST
def instruction_allow_partial(request, instruction_id: int):
    roles.require_role(request, WRITERS)
    instruction = _instruction_or_404(instruction_id)
    form = AllowPartialForm(request.POST, prefix="partial")
    if form.is_valid():
        allow = form.cleaned_data["allow_partial"]
        try:
            services.instruction_allow_partial_set(actor=request.user, instruction_id=instruction.pk,
                                                   allow_partial=allow, reason=form.cleaned_data["reason"])
        except BusinessRuleError as exc:
            conflict = _refused(request, instruction, form, exc)
            if conflict is not None:
                return conflict
        else:
            messages.success(request, f"Instruction {instruction.pk}: partial settlement "
                                      f"{'allowed' if allow else 'no longer allowed'}.")
            return redirect("settlements:instruction-detail", instruction_id=instruction.pk)
    return _instruction_page(request, instruction, partial_form=form, status=400)


@login_required
@require_POST
def instruction_counterparty_fail(request, instruction_id: int):
    roles.require_role(request, WRITERS)
    instruction = _instruction_or_404(instruction_id)
    form = CounterpartyFailForm(request.POST, prefix="fail")
    if form.is_valid():
        try:
            services.instruction_counterparty_fail(actor=request.user, instruction_id=instruction.pk,
                                                   reason=form.cleaned_data["reason"])
        except BusinessRuleError as exc:
            conflict = _refused(request, instruction, form, exc)
            if conflict is not None:
                return conflict
        else:
            messages.success(request, f"Instruction {instruction.pk}: the counterparty's failure is recorded; "
                                      "it will not settle while it stands.")
            return redirect("settlements:instruction-detail", instruction_id=instruction.pk)
    return _instruction_page(request, instruction, fail_form=form, status=400)


# --- standing settlement instructions ---

ANY_MARKET = "*"


class SsiFilterForm(ReferenceFilterForm):
    counterparty = forms.CharField(required=False, max_length=30, label="Counterparty",
                                   widget=forms.TextInput(attrs={"placeholder": "Code", "class": "medium"}))
    market = forms.ChoiceField(required=False, label="Market")
    active_on = forms.DateField(required=False, label="Effective on", widget=DateInput)

    reference_fields = ("counterparty",)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["market"].choices = [("", "All"), (ANY_MARKET, "Any market (defaults)"),
                                         *((m.mic, f"{m.mic} · {m.name}") for m in reference_selectors.market_list())]

    def clean_counterparty(self):
        return self._resolve("counterparty", reference_selectors.counterparty_find, "counterparty")

    def ssi_filters(self) -> dict | None:
        filters = self.selector_filters()
        if filters is None:
            return None
        market = filters.pop("market", None)
        if market == ANY_MARKET:
            filters["any_market"] = True
        elif market:
            filters["market"] = reference_selectors.market_list().filter(mic=market).first()
        return filters


class SsiProposalForm(forms.Form):
    """A new SSI (no id) or a change to one (id): every field as text, read by the kind's rules (BICs checked)."""

    id = forms.IntegerField(required=False, widget=forms.HiddenInput)
    counterparty = forms.CharField(max_length=30, label="Counterparty",
                                   widget=forms.TextInput(attrs={"class": "medium", "placeholder": "Code"}))
    market = forms.ChoiceField(required=False, label="Market")
    depository_bic = forms.CharField(max_length=11, label="Depository (BIC)",
                                     widget=forms.TextInput(attrs={"class": "bic", "placeholder": "DTCYUS33"}))
    place_of_settlement_bic = forms.CharField(max_length=11, label="Place of settlement (BIC)",
                                              widget=forms.TextInput(attrs={"class": "bic"}))
    agent_bic = forms.CharField(max_length=11, label="Their agent (BIC)",
                                widget=forms.TextInput(attrs={"class": "bic"}))
    safekeeping_account = forms.CharField(max_length=35, label="Safekeeping account",
                                          widget=forms.TextInput(attrs={"class": "medium"}))
    effective_from = forms.DateField(label="Effective from", widget=DateInput)
    effective_to = forms.DateField(required=False, label="Effective to", widget=DateInput)
    reason = forms.CharField(max_length=1000, label="Reason", widget=forms.TextInput(
        attrs={"class": "wide", "placeholder": "e.g. the broker's letter of 2026-10-30"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["market"].choices = [("", "Any market (default)"),
                                         *((m.mic, f"{m.mic} · {m.name}") for m in reference_selectors.market_list())]

    @classmethod
    def for_change(cls, ssi):
        view = ssi_view(ssi)
        return cls(initial={**view, "market": view["market"] or ""})

    def payload(self) -> dict:
        data = self.cleaned_data
        values = {name: data[name] for name in ("counterparty", *CHANGEABLE_FIELDS)}
        values["market"] = data.get("market") or None
        values = {name: value.isoformat() if hasattr(value, "isoformat") else value for name, value in values.items()}
        if data.get("id"):
            ssi = selectors.ssi_get(data["id"])
            if ssi is None:
                raise BusinessRuleError("That standing settlement instruction no longer exists.")
            current = ssi_view(ssi)
            changes = {name: values[name] for name in CHANGEABLE_FIELDS
                       if (values[name].upper() if name in BIC_FIELDS else values[name]) != current[name]}
            return {"id": ssi.pk, "changes": changes}
        return values


def _ssi_page(request, *, proposal_form=None, status=200):
    roles.require_role(request, READERS)
    form = SsiFilterForm(request.GET)
    filters = form.ssi_filters()
    rows = selectors.ssi_list(**(filters or {}))
    if filters is None:
        rows = rows.none()
    page = page_of(request, rows)
    page.object_list = list(page.object_list)
    counts = selectors.ssi_instruction_counts(page.object_list)
    today = timezone.localdate()
    for ssi in page.object_list:
        ssi.instruction_counts = counts.get(ssi.pk, {})
        ssi.open_instructions = sum(n for s, n in ssi.instruction_counts.items() if s in OPEN)
        ssi.all_instructions = sum(ssi.instruction_counts.values())
        ssi.state = ("FUTURE" if ssi.effective_from > today
                     else "ENDED" if ssi.effective_to is not None and ssi.effective_to < today else "ACTIVE")
    may_propose = approval_kinds.may_propose(request.user, SSI_CHANGE)
    changing = None
    if proposal_form is None and may_propose:
        change_id = request.GET.get("change")
        changing = selectors.ssi_get(int(change_id)) if change_id and change_id.isdigit() else None
        if changing is not None:
            proposal_form = SsiProposalForm.for_change(changing)
        else:
            proposal_form = SsiProposalForm(initial={"counterparty": request.GET.get("counterparty", ""),
                                                     "market": request.GET.get("market", ""),
                                                     "effective_from": today})
    elif proposal_form is not None and proposal_form.data.get("id"):
        changing = selectors.ssi_get(int(proposal_form.data["id"])) if str(proposal_form.data["id"]).isdigit() \
            else None
    pending = approval_selectors.change_request_list().filter(kind=SSI_CHANGE, status="PENDING").order_by("id")
    return render(request, "settlements/ssi_list.html", {
        "form": form, "page": page, "filtered": _filtered(request), "may_propose": may_propose,
        "proposal_form": proposal_form, "changing": changing, "pending": list(pending[:50]),
        "held_without_ssi": selectors.held_without_ssi().count(), "today": today,
    }, status=status)


@login_required
def ssi_list(request):
    return _ssi_page(request)


@login_required
@require_POST
def ssi_propose(request):
    roles.require_role(request, READERS)
    if not approval_kinds.may_propose(request.user, SSI_CHANGE):
        raise PermissionDenied("Your role does not allow proposing standing settlement instructions.")
    form = SsiProposalForm(request.POST)
    if form.is_valid():
        try:
            change = approvals.change_propose(actor=request.user, kind=SSI_CHANGE, payload=form.payload(),
                                              reason=form.cleaned_data["reason"])
        except BusinessRuleError as exc:
            field = "id" if exc.field == "changes" else exc.field
            if isinstance(exc, ConflictError) or field not in form.fields or field == "id":
                form.add_error(None, exc.message)
            else:
                form.add_error(field, exc.message)
        else:
            messages.success(request, f"Proposed as change #{change.pk}: {change.summary}. It takes effect when "
                                      "another operations user approves it.")
            return redirect("settlements:ssis")
    return _ssi_page(request, proposal_form=form, status=400)


urlpatterns = [
    path("instructions/", instruction_list, name="instructions"),
    path("instructions/gross/", instruction_gross, name="instruction-gross"),
    path("instructions/<int:instruction_id>/", instruction_detail, name="instruction-detail"),
    path("instructions/<int:instruction_id>/allow-partial/", instruction_allow_partial,
         name="instruction-allow-partial"),
    path("instructions/<int:instruction_id>/counterparty-fail/", instruction_counterparty_fail,
         name="instruction-counterparty-fail"),
    path("ssis/", ssi_list, name="ssis"),
    path("ssis/propose/", ssi_propose, name="ssi-propose"),
]
