"""Dashboard pages of the trade blotter: the blotter, its CSV export, and a trade's detail.

The blotter parses its GET filters with a form and pages by keyset, 50 trades to a page; a filter
naming an account, instrument or counterparty that does not exist matches nothing.

The trade page works a trade as the API does: release or reject a held trade (maker-checker proposals, as
POST /api/v1/trades/{id}/release/ and .../reject/), amend and cancel, each a POST calling the same service as the
API view, with the same roles; a refusal shows on the form, a success as a message.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from backoffice.core import roles
from backoffice.core.csv_export import csv_blocks, csv_lines
from backoffice.core.exceptions import BusinessRuleError, ConflictError
from backoffice.core.fields import AMOUNT, PRICE, QUANTITY, InputError, format_decimal, parse_decimal
from backoffice.core.forms import DateInput, DateRangeMixin, ReferenceFilterForm, with_all
from backoffice.core.keyset import keyset_page_of
from backoffice.core.roles import require_role
from records.approvals import kinds as approval_kinds
from records.approvals import selectors as approval_selectors
from records.approvals import services as approvals
from records.reference import selectors as reference_selectors
from records.trades import selectors
from records.trades import services as trade_services
from records.trades.models import Trade

# Who may amend or cancel a trade: the roles of the API's TradeAmendApi and TradeCancelApi.
TRADE_WRITERS = (roles.FRONT_OFFICE, roles.OPERATIONS)
RELEASE = "trade.release"
REJECT = "trade.reject"


class TradeFilterForm(DateRangeMixin, ReferenceFilterForm):
    trade_date = forms.DateField(required=False, label="Trade date", widget=DateInput)
    date_from = forms.DateField(required=False, label="Trade date from", widget=DateInput)
    date_to = forms.DateField(required=False, label="Trade date to", widget=DateInput)
    account = forms.CharField(required=False, max_length=30, label="Account",
                              widget=forms.TextInput(attrs={"placeholder": "Account code", "class": "medium"}))
    instrument = forms.CharField(required=False, max_length=20, label="Instrument",
                                 widget=forms.TextInput(attrs={"placeholder": "ISIN or symbol", "class": "medium"}))
    counterparty = forms.CharField(required=False, max_length=30, label="Counterparty",
                                   widget=forms.TextInput(attrs={"placeholder": "Code", "class": "medium"}))
    status = forms.ChoiceField(required=False, choices=with_all(Trade.Status.choices))
    side = forms.ChoiceField(required=False, choices=with_all(Trade.Side.choices))
    external_ref = forms.CharField(required=False, max_length=64, label="External ref",
                                   widget=forms.TextInput(attrs={
                                       "placeholder": "Exact, or prefix*",
                                       "title": "The exact reference; end with * to match every reference that "
                                                "starts with what you typed"}))

    reference_fields = ("account", "instrument", "counterparty")

    def clean_account(self):
        return self._resolve("account", reference_selectors.account_find, "account")

    def clean_instrument(self):
        return self._resolve("instrument", reference_selectors.instruments_find, "instrument with ISIN or symbol")

    def clean_counterparty(self):
        return self._resolve("counterparty", reference_selectors.counterparty_find, "counterparty")

    def blotter_filters(self) -> dict | None:
        """Return the keyword arguments of selectors.trade_blotter, or None when nothing can match."""
        filters = self.selector_filters()
        if filters is not None and "instrument" in filters:
            filters["instruments"] = filters.pop("instrument")
        return filters


def _blotter_trades(form: TradeFilterForm):
    filters = form.blotter_filters()
    trades = selectors.trade_blotter(**(filters or {}))
    return trades if filters is not None else trades.none()


@login_required
def trade_list(request):
    form = TradeFilterForm(request.GET)
    trades = _blotter_trades(form)
    page = keyset_page_of(request, trades)
    return render(request, "records/trade_list.html", {
        "form": form, "page": page, "totals": selectors.trade_blotter_totals(trades, page=page),
    })


@login_required
def trade_export(request):
    """Stream the filtered blotter (every page of it) as CSV, in the platform's one CSV format (core.csv_export)."""
    form = TradeFilterForm(request.GET)
    headers = [header for header, _path in selectors.TRADE_EXPORT_COLUMNS]
    lines = csv_lines(headers, selectors.trade_export_rows(_blotter_trades(form)))
    response = StreamingHttpResponse(csv_blocks(lines), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="trades-{timezone.localtime():%Y%m%d-%H%M%S}.csv"'
    return response


class _DecimalText(forms.CharField):
    """A decimal typed as text, read by the API's rule (parse_decimal): never rounded."""

    def __init__(self, *, kind, positive=False, non_negative=False, **kwargs):
        self.kind, self.positive, self.non_negative = kind, positive, non_negative
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "decimal", "class": "num-input"}))
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        if value in self.empty_values:
            return None
        try:
            return parse_decimal(value, kind=self.kind, positive=self.positive, non_negative=self.non_negative)
        except InputError as exc:
            raise forms.ValidationError(exc.message, code=exc.code) from None


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=1000, widget=forms.TextInput(attrs={"class": "wide"}))


class AmendForm(ReasonForm):
    """Trade.AMENDABLE_FIELDS, prefilled with the trade's values; what is left as it was is not changed."""

    quantity = _DecimalText(kind=QUANTITY, positive=True, required=False)
    price = _DecimalText(kind=PRICE, positive=True, required=False)
    settlement_date = forms.DateField(required=False, label="Settlement date", widget=DateInput)
    commission = _DecimalText(kind=AMOUNT, non_negative=True, required=False)

    field_order = ["quantity", "price", "settlement_date", "commission", "reason"]

    @classmethod
    def for_trade(cls, trade: Trade) -> "AmendForm":
        return cls(initial={"quantity": format_decimal(trade.quantity), "price": format_decimal(trade.price),
                            "settlement_date": trade.settlement_date,
                            "commission": format_decimal(trade.commission)})

    def changes(self) -> dict:
        return {name: self.cleaned_data[name] for name in Trade.AMENDABLE_FIELDS
                if self.cleaned_data.get(name) is not None}


def _trade_or_404(trade_id: int) -> Trade:
    trade = selectors.trade_detail_get(trade_id)
    if trade is None:
        raise Http404("No such trade.")
    return trade


def _trade_page(request, trade: Trade, *, amend_form=None, cancel_form=None, release_form=None, reject_form=None,
                status=200):
    may_write = roles.user_has_role(request.user, *TRADE_WRITERS)
    amendable = trade.status in Trade.AMENDABLE_STATUSES
    held = trade.status == Trade.Status.HELD
    pending_release = approval_selectors.change_request_pending(kind=RELEASE, target_id=trade.pk) if held else None
    pending_reject = approval_selectors.change_request_pending(kind=REJECT, target_id=trade.pk) if held else None
    undecided = held and pending_release is None and pending_reject is None
    return render(request, "records/trade_detail.html", {
        "trade": trade,
        "events": selectors.trade_timeline(trade),
        "versions": selectors.trade_version_rows(trade),
        "may_amend": may_write and amendable,
        "may_release": undecided and approval_kinds.may_propose(request.user, RELEASE),
        "may_reject": undecided and approval_kinds.may_propose(request.user, REJECT),
        "pending_release": pending_release,
        "pending_reject": pending_reject,
        "amend_form": amend_form or AmendForm.for_trade(trade),
        "cancel_form": cancel_form or ReasonForm(prefix="cancel"),
        "release_form": release_form or ReasonForm(prefix="release"),
        "reject_form": reject_form or ReasonForm(prefix="reject"),
    }, status=status)


@login_required
def trade_detail(request, trade_id: int):
    return _trade_page(request, _trade_or_404(trade_id))


def _refused(request, trade: Trade, form: forms.Form, exc: BusinessRuleError):
    """Answer a refusal: on the form (400), or, when the trade has moved on (a conflict), as a message above
    the trade as it now is."""
    if isinstance(exc, ConflictError):
        messages.error(request, exc.message)
        return redirect("records:trade-detail", trade_id=trade.pk)
    field = exc.field if exc.field in form.fields else None
    for message in exc.messages:
        form.add_error(field, message)
    return None


@login_required
@require_POST
def trade_amend(request, trade_id: int):
    require_role(request, TRADE_WRITERS)
    trade = _trade_or_404(trade_id)
    form = AmendForm(request.POST)
    if form.is_valid():
        try:
            amended = trade_services.trade_amend(actor=request.user, trade_id=trade.pk, changes=form.changes(),
                                                 reason=form.cleaned_data["reason"])
        except BusinessRuleError as exc:
            conflict = _refused(request, trade, form, exc)
            if conflict is not None:
                return conflict
        else:
            held = " It is held by pre-trade checks." if amended.status == Trade.Status.HELD else ""
            messages.success(request, f"Trade {amended.pk} amended: now version {amended.version}.{held}")
            return redirect("records:trade-detail", trade_id=trade.pk)
    return _trade_page(request, trade, amend_form=form, status=400)


@login_required
@require_POST
def trade_cancel(request, trade_id: int):
    require_role(request, TRADE_WRITERS)
    trade = _trade_or_404(trade_id)
    form = ReasonForm(request.POST, prefix="cancel")
    if form.is_valid():
        try:
            trade_services.trade_cancel(actor=request.user, trade_id=trade.pk, reason=form.cleaned_data["reason"])
        except BusinessRuleError as exc:
            conflict = _refused(request, trade, form, exc)
            if conflict is not None:
                return conflict
        else:
            messages.success(request, f"Trade {trade.pk} cancelled.")
            return redirect("records:trade-detail", trade_id=trade.pk)
    return _trade_page(request, trade, cancel_form=form, status=400)


def _propose_decision(request, trade_id: int, *, kind: str, prefix: str, noun: str, outcome: str):
    """Propose deciding a held trade (release or rejection) under maker-checker, from the trade page's form."""
    trade = _trade_or_404(trade_id)
    if not approval_kinds.may_propose(request.user, kind):
        raise PermissionDenied(f"Your role does not allow proposing a {noun.lower()}.")
    form = ReasonForm(request.POST, prefix=prefix)
    if form.is_valid():
        try:
            change = approvals.change_propose(actor=request.user, kind=kind, payload={"trade_id": trade.pk},
                                              reason=form.cleaned_data["reason"])
        except BusinessRuleError as exc:
            conflict = _refused(request, trade, form, exc)
            if conflict is not None:
                return conflict
        else:
            messages.success(request, f"{noun} of trade {trade.pk} proposed as change #{change.pk}: it is {outcome} "
                                      f"once another user approves it.")
            return redirect("records:trade-detail", trade_id=trade.pk)
    return _trade_page(request, trade, status=400, **{f"{prefix}_form": form})


@login_required
@require_POST
def trade_release(request, trade_id: int):
    """Propose releasing a held trade (maker-checker): it is booked once a second user approves."""
    return _propose_decision(request, trade_id, kind=RELEASE, prefix="release", noun="Release", outcome="booked")


@login_required
@require_POST
def trade_reject(request, trade_id: int):
    """Propose rejecting a held trade (maker-checker): it is REJECTED once a second user approves."""
    return _propose_decision(request, trade_id, kind=REJECT, prefix="reject", noun="Rejection", outcome="rejected")
