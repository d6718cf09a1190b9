"""Dashboard pages of settlements' fails (included by settlements/urls.py): the fails as of a date, a fail.

The fails page shows the fails open on a date: aged in buckets of settlement days (counts and values,
a bar chart), by counterparty, the month's penalties per currency, the Reg SHO close-outs due or
overdue, and every fail in a dense table with filters and totals; operations accrue a day's penalties
from it (the fail-penalties job). A fail's page shows its instruction, its penalties day by day and,
for operations, its Reg SHO basis to change. Operations, compliance and accounting read every page.
"""

from datetime import date, timedelta
from decimal import Decimal

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from backoffice.core import roles
from backoffice.core.exceptions import BusinessRuleError, ConflictError
from backoffice.core.fields import format_decimal
from backoffice.core.forms import DateInput, ReferenceFilterForm, page_of, with_all
from records.reference import selectors as reference_selectors
from records.reference.services.calendar import is_settlement_day
from settlements.fails import aging, charts, rules, selectors, services
from settlements.iso20022 import selectors as iso20022_selectors
from settlements.iso20022.views import urlpatterns as iso20022_pages
from settlements.models import SettlementFail

READERS = (roles.OPERATIONS, roles.COMPLIANCE, roles.ACCOUNTING)
WORKERS = (roles.OPERATIONS,)
CLOSE_OUTS_SHOWN = 20
COUNTERPARTIES_CHARTED = 8
BUCKET_TONES = {"0-1": "neutral", "2-3": "warn", "4-5": "warn", "6-10": "bad", ">10": "bad"}
REGSHO_LABELS = {"SHORT": "Short", "LONG": "Long", "RULE_144": "Rule 144"}
REGSHO_CHOICES = [("due-or-overdue", "Due or overdue"), ("due", "Due on the date"), ("overdue", "Overdue")]


class FailFilterForm(ReferenceFilterForm):
    as_of = forms.DateField(required=False, label="As of", widget=DateInput)
    account = forms.CharField(required=False, max_length=30, label="Account",
                              widget=forms.TextInput(attrs={"placeholder": "Account code", "class": "medium"}))
    counterparty = forms.CharField(required=False, max_length=30, label="Counterparty",
                                   widget=forms.TextInput(attrs={"placeholder": "Code", "class": "medium"}))
    instrument = forms.CharField(required=False, max_length=20, label="Instrument",
                                 widget=forms.TextInput(attrs={"placeholder": "ISIN or symbol", "class": "medium"}))
    kind = forms.ChoiceField(required=False, choices=with_all(SettlementFail.Kind.choices))
    cause = forms.ChoiceField(required=False, choices=with_all(SettlementFail.Cause.choices))
    age_bucket = forms.ChoiceField(required=False, label="Age (settlement days)", choices=with_all(
        [(code, code.replace("-", "–")) for code in rules.AGE_BUCKET_CODES]))
    regsho = forms.ChoiceField(required=False, label="Reg SHO close-out", choices=with_all(REGSHO_CHOICES))

    reference_fields = ("account", "counterparty", "instrument")

    def clean_account(self):
        return self._resolve("account", reference_selectors.account_find, "account")

    def clean_counterparty(self):
        return self._resolve("counterparty", reference_selectors.counterparty_find, "counterparty")

    def clean_instrument(self):
        return self._resolve("instrument", reference_selectors.instruments_find, "instrument with ISIN or symbol")

    def fail_filters(self) -> dict | None:
        """The filters for selectors.fail_list (as_of and age_bucket apart), or None when a key names nothing."""
        filters = self.selector_filters()
        if filters is None:
            return None
        filters.pop("as_of", None)
        filters.pop("age_bucket", None)
        for name in ("account", "counterparty"):
            if name in filters:
                filters[name] = filters[name].code
        if "instrument" in filters:
            filters["instruments"] = filters.pop("instrument")
        return filters


class PenaltyRunForm(forms.Form):
    date = forms.DateField(label="Day to accrue", widget=DateInput)


class RegShoForm(forms.Form):
    regsho_basis = forms.ChoiceField(label="Reg SHO basis", choices=SettlementFail.RegShoBasis.choices)
    reason = forms.CharField(label="Reason", max_length=500,
                             widget=forms.TextInput(attrs={"placeholder": "The locate, the short marking, the "
                                                                          "Rule 144 legend...", "class": "wide"}))


def _filtered(request) -> bool:
    """Whether the page was asked for with a filter other than the date: which empty message to show."""
    return any(value.strip() for name, value in request.GET.items() if name not in ("page", "as_of"))


def _previous_day() -> date | None:
    try:
        return services.previous_penalty_day(timezone.localdate())
    except LookupError:
        return None


def _penalty_day(as_of: date) -> date:
    """The day whose penalties the page shows: as_of once it is over, else the last day whose penalties are known."""
    return as_of if as_of < timezone.localdate() else (_previous_day() or as_of)


def _days_without_penalty(fail, penalties, *, as_of: date) -> list[date]:
    """The settlement days of the fail's market it was open on, over by as_of, that have no penalty (no closing
    price that day, or not accrued yet)."""
    market = fail.instruction.instrument.market
    last = min(as_of, timezone.localdate() - timedelta(days=1))
    if fail.closed_on is not None:
        last = min(last, fail.closed_on - timedelta(days=1))
    charged = {penalty.penalty_date for penalty in penalties}
    days, day = [], fail.failed_on
    while day <= last and len(days) < 400:
        if day not in charged and is_settlement_day(market=market, day=day):
            days.append(day)
        day += timedelta(days=1)
    return days


def _decorate(fails) -> list:
    """What the templates show of each fail (aging.with_ages done): its age's tone and its basis in short."""
    for fail in fails:
        fail.age_tone = BUCKET_TONES[fail.age_bucket]
        fail.regsho_label = REGSHO_LABELS.get(fail.regsho_basis, "")
    return fails


def _bucket_chart(figures: aging.Aging) -> charts.Chart:
    return charts.bar_chart([(f"{bucket.label} days", bucket.count, BUCKET_TONES[bucket.code],
                              f"{bucket.count} fails aged {bucket.label} settlement days")
                             for bucket in figures.buckets])


def _counterparty_chart(figures: aging.Aging) -> charts.Chart:
    return charts.bar_chart([(party.code, party.count, "neutral", f"{party.count} fails with {party.name}")
                             for party in figures.counterparties[:COUNTERPARTIES_CHARTED]])


def _fail_list_page(request, *, run_form=None, status=200):
    roles.require_role(request, READERS)
    form = FailFilterForm(request.GET)
    form.is_valid()
    as_of = form.cleaned_data.get("as_of") or timezone.localdate()
    filters = form.fail_filters()
    every_age = selectors.fail_list(as_of=as_of, **(filters or {}))
    if filters is None:
        every_age = every_age.none()
    bucket = form.cleaned_data.get("age_bucket")
    fails = every_age.filter(aging.bucket_filter(as_of=as_of, bucket=bucket)) if bucket else every_age
    # The figures cover the filtered fails of every age, so that the buckets compare.
    figures = aging.fail_aging(every_age, as_of=as_of)
    for bucket in figures.buckets:
        bucket.tone = BUCKET_TONES[bucket.code]
    page = page_of(request, fails)
    page.object_list = _decorate(aging.with_ages(page.object_list, as_of=as_of))
    close_outs = _decorate(aging.with_ages(selectors.close_outs_due(as_of=as_of)[:CLOSE_OUTS_SHOWN], as_of=as_of))
    return render(request, "settlements/fail_list.html", {
        "form": form, "as_of": as_of, "today": timezone.localdate(), "page": page, "figures": figures,
        "bucket_chart": _bucket_chart(figures), "counterparty_chart": _counterparty_chart(figures),
        "counterparties_charted": COUNTERPARTIES_CHARTED,
        "totals": selectors.fail_totals(fails), "penalty_day": _penalty_day(as_of),
        "penalties": aging.penalty_summary(as_of=as_of, day=_penalty_day(as_of)),
        "close_outs": close_outs, "close_out_counts": selectors.close_out_counts(as_of=as_of),
        "close_outs_shown": CLOSE_OUTS_SHOWN,
        "may_work": roles.user_has_role(request.user, *WORKERS),
        "run_form": run_form or PenaltyRunForm(initial={"date": _previous_day()}),
        "filtered": _filtered(request),
    }, status=status)


@login_required
def fail_list(request):
    return _fail_list_page(request)


@login_required
@require_POST
def fail_penalties_run(request):
    roles.require_role(request, WORKERS)
    form = PenaltyRunForm(request.POST)
    if not form.is_valid():
        return _fail_list_page(request, run_form=form, status=400)
    day = form.cleaned_data["date"]
    try:
        job = services.fail_penalties_start(penalty_date=day, started_by=request.user)
    except BusinessRuleError as exc:
        form.add_error("date" if exc.field == "date" else None, exc.message)
        return _fail_list_page(request, run_form=form, status=400)
    messages.success(request, f"Penalties of {day:%Y-%m-%d} queued as job {job.pk}: each fail open that day is "
                              "penalised once, however often the day is run.")
    return redirect(f"{reverse('settlements:fails')}?as_of={day:%Y-%m-%d}")


def _fail_detail_page(request, fail_id: int, *, regsho_form=None, status=200):
    roles.require_role(request, READERS)
    form = FailFilterForm(request.GET)
    form.is_valid()
    as_of = form.cleaned_data.get("as_of") or timezone.localdate()
    fail = selectors.fail_get(fail_id, as_of=as_of)
    if fail is None:
        raise Http404("No such fail.")
    (fail,) = _decorate(aging.with_ages([fail], as_of=as_of))
    penalties = list(selectors.fail_penalties(fail, as_of=as_of))
    running = Decimal(0)
    for penalty in penalties:
        running += penalty.amount
        penalty.running = running
        penalty.rate_label = f"{format_decimal(penalty.rate * 10_000)} bp"
    instrument = fail.instruction.instrument
    regsho_applies = rules.regsho_applies(market=instrument.market, asset_class=instrument.asset_class,
                                          kind=fail.kind)
    return render(request, "settlements/fail_detail.html", {
        "fail": fail, "instruction": fail.instruction, "as_of": as_of, "today": timezone.localdate(),
        "penalties": penalties, "penalty_total": running,
        "days_without_penalty": _days_without_penalty(fail, penalties, as_of=as_of),
        "status_messages": list(iso20022_selectors.status_messages_of(fail.instruction_id)[:20]),
        "regsho_applies": regsho_applies,
        "may_work": roles.user_has_role(request.user, *WORKERS) and regsho_applies and fail.closed_on is None,
        "regsho_form": regsho_form or RegShoForm(initial={"regsho_basis": fail.regsho_basis or rules.LONG}),
    }, status=status)


@login_required
def fail_detail(request, fail_id: int):
    return _fail_detail_page(request, fail_id)


@login_required
@require_POST
def fail_regsho(request, fail_id: int):
    roles.require_role(request, WORKERS)
    if selectors.fail_get(fail_id) is None:
        raise Http404("No such fail.")
    form = RegShoForm(request.POST)
    if not form.is_valid():
        return _fail_detail_page(request, fail_id, regsho_form=form, status=400)
    try:
        fail = services.fail_regsho_basis_set(actor=request.user, fail_id=fail_id,
                                              basis=form.cleaned_data["regsho_basis"],
                                              reason=form.cleaned_data["reason"])
    except ConflictError as exc:
        messages.error(request, exc.message)
        return redirect("settlements:fail-detail", fail_id=fail_id)
    except BusinessRuleError as exc:
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        return _fail_detail_page(request, fail_id, regsho_form=form, status=400)
    messages.success(request, f"Reg SHO basis of fail {fail.pk}: {fail.get_regsho_basis_display()}; close out by "
                              f"the opening of {fail.close_out_deadline:%a %Y-%m-%d}.")
    return redirect("settlements:fail-detail", fail_id=fail_id)


urlpatterns = [
    path("fails/", fail_list, name="fails"),
    path("fails/penalties/", fail_penalties_run, name="fail-penalties-run"),
    path("fails/<int:fail_id>/", fail_detail, name="fail-detail"),
    path("fails/<int:fail_id>/regsho/", fail_regsho, name="fail-regsho"),
    # ISO 20022 (settlements/iso20022/views.py): wired here so that settlements/urls.py needs no change.
    *iso20022_pages,
]
