"""Dashboard pages of alerts (included by compliance/urls.py): the alert queue, an alert's page, the daily summary.

/compliance/alerts/ (compliance:alerts): the queue, open ones by default, with filters, counts per state and
severity, SLA breaches in red and near breaches in amber, and a bulk "Assign to ..." action.
/compliance/alerts/<id>/ (compliance:alert): the alert with its evidence (every record linked to its page), its
figures, its history as a timeline, and the steps its state allows.
/compliance/summary/ (compliance:summary): the compliance day on one page.
Compliance, operations and accounting read them; compliance works alerts (superusers too). Thin: parse, call
one service or selector, shape; a refusal is shown as a message.
"""

from datetime import timedelta
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from backoffice.core import roles
from backoffice.core.exceptions import BusinessRuleError
from backoffice.core.forms import DateInput, DateRangeMixin, ReferenceFilterForm, page_of, with_all
from compliance.alerts import selectors, services
from compliance.alerts.models import AlertState
from compliance.rules.models import RuleKind, Severity
from records.reference import selectors as reference_selectors

READERS = (roles.COMPLIANCE, roles.OPERATIONS, roles.ACCOUNTING)
WORKERS = (roles.COMPLIANCE,)
ALL = "ALL"
NOT_CLOSED = ""


class AlertFilterForm(DateRangeMixin, ReferenceFilterForm):
    state = forms.ChoiceField(required=False, label="State", choices=[
        (NOT_CLOSED, "Open ones"), *AlertState.choices, (ALL, "All")])
    severity = forms.ChoiceField(required=False, choices=with_all(Severity.choices))
    rule = forms.ChoiceField(required=False, label="Rule")
    kind = forms.ChoiceField(required=False, choices=with_all(RuleKind.choices))
    owner = forms.ChoiceField(required=False, label="Owner")
    account = forms.CharField(required=False, max_length=30, label="Account",
                              widget=forms.TextInput(attrs={"placeholder": "Account code", "class": "medium"}))
    date_from = forms.DateField(required=False, label="Opened from", widget=DateInput)
    date_to = forms.DateField(required=False, label="Opened to", widget=DateInput)
    overdue = forms.BooleanField(required=False, label="SLA breached")

    reference_fields = ("account",)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["rule"].choices = with_all([(code, code) for code, _name in selectors.alert_rule_codes()])
        self.fields["owner"].choices = with_all(
            [(selectors.UNASSIGNED, "Unassigned"),
             *[(u.username, u.username) for u in selectors.compliance_officers()]], "Anyone")

    def clean_account(self):
        return self._resolve("account", reference_selectors.account_find, "account")

    def alert_filters(self) -> dict | None:
        filters = self.selector_filters()
        if filters is None:
            return None
        state = filters.pop("state", NOT_CLOSED)
        if state != ALL:
            filters["states"] = [state] if state else list(selectors.OPEN_STATES)
        filters["overdue"] = True if filters.pop("overdue", False) else None
        return filters


class BulkAssignForm(forms.Form):
    ids = forms.TypedMultipleChoiceField(coerce=int, choices=[])
    owner = forms.ChoiceField(choices=[])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["ids"].choices = [(value, value) for value in self.data.getlist("ids") if value.isdigit()]
        self.fields["owner"].choices = [(u.username, u.username) for u in selectors.compliance_officers()]


class AssignForm(forms.Form):
    owner = forms.ChoiceField(label="Owner", choices=[])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = [(u.username, u.username) for u in selectors.compliance_officers()]


def _text_field(label: str, placeholder: str):
    return forms.CharField(label=label, max_length=services.NOTE_MAX_LENGTH, strip=False, widget=forms.Textarea(
        attrs={"rows": 2, "placeholder": placeholder, "maxlength": services.NOTE_MAX_LENGTH}))


class EscalateForm(forms.Form):
    note = _text_field("Why escalate", "What needs a senior decision, and why")


class CloseForm(forms.Form):
    disposition = _text_field("Disposition", "What was found and what was done (e.g. false positive: ...)")


class ReopenForm(forms.Form):
    reason = _text_field("Why reopen", "What came up")


class NoteForm(forms.Form):
    note = _text_field("Note", "A finding, a call made, a document asked for")


# The queue -------------------------------------------------------------------------------------------------

def _annotate_sla(alerts, now) -> None:
    for alert in alerts:
        alert.sla = selectors.alert_sla(alert, now)
        alert.subject = selectors.alert_subject(alert)
        alert.kind_text, alert.kind_label = selectors.kind_texts(alert.kind)
        alert.subject_url = _record_url(alert.subject["type"], alert.subject["id"], alert)


@login_required
def alert_list(request):
    roles.require_role(request, READERS)
    now = timezone.now()
    form = AlertFilterForm(request.GET)
    filters = form.alert_filters()
    rows = selectors.alert_list(**(filters or {}), now=now)
    if filters is None:
        rows = rows.none()
    page = page_of(request, rows)
    page.object_list = list(page.object_list)
    _annotate_sla(page.object_list, now)
    may_work = roles.user_has_role(request.user, *WORKERS)
    return render(request, "compliance/alert_list.html", {
        "form": form, "page": page, "now": now, "counts": selectors.alert_counts(now=now), "may_work": may_work,
        "officers": selectors.compliance_officers() if may_work else [],
        "filtered": any(value.strip() for name, value in request.GET.items() if name != "page"),
        "sla_hours": settings.COMPLIANCE_ALERT_SLA_HOURS,
    })


def _back(request, fallback: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return fallback


@login_required
@require_POST
def alert_assign_bulk(request):
    roles.require_role(request, WORKERS)
    back = _back(request, reverse("compliance:alerts"))
    form = BulkAssignForm(request.POST)
    if not form.is_valid():
        if "ids" in form.errors:
            messages.error(request, "Tick the alerts to assign first.")
        else:
            messages.error(request, "Choose the compliance officer to assign them to.")
        return redirect(back)
    try:
        result = services.alerts_assign_bulk(actor=request.user, alert_ids=form.cleaned_data["ids"],
                                             owner=form.cleaned_data["owner"])
    except BusinessRuleError as exc:
        messages.error(request, exc.message)
        return redirect(back)
    owner = form.cleaned_data["owner"]
    parts = [f"{len(result.assigned)} alert{'s' if len(result.assigned) != 1 else ''} assigned to {owner}"]
    if result.unchanged:
        parts.append(f"{len(result.unchanged)} {'was' if len(result.unchanged) == 1 else 'were'} {owner}'s already")
    if result.skipped_closed:
        closed = len(result.skipped_closed)
        parts.append(f"{closed} closed, left as {'it was' if closed == 1 else 'they were'}")
    (messages.success if result.assigned else messages.warning)(request, "; ".join(parts) + ".")
    return redirect(back)


# An alert --------------------------------------------------------------------------------------------------

def _reverse(name: str, *args) -> str | None:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def _with_query(url: str | None, **params) -> str | None:
    return f"{url}?{urlencode(params)}" if url else None


def _record_url(record_type: str, record_id, alert, label: str = "") -> str | None:
    """The page of a record of an alert's evidence: the trade, the fail, the account, the cash balances of the
    account (cash movements have no page of their own), the instrument."""
    if isinstance(record_id, bool) or not isinstance(record_id, int):
        return None
    if record_type == "TRADE":
        return _reverse("records:trade-detail", record_id)
    if record_type == "FAIL":
        return _reverse("settlements:fail-detail", record_id)
    if record_type == "ACCOUNT":
        code = alert.account.code if alert.account_id == record_id and alert.account else label.split(" ")[0]
        return _with_query(_reverse("records:accounts"), search=code) if code else None
    if record_type == "CASH_MOVEMENT":
        return _with_query(_reverse("records:cash-balances"), account=alert.account.code) if alert.account else None
    if record_type == "INSTRUMENT":
        isin = alert.instrument.isin if alert.instrument_id == record_id and alert.instrument else label.split(" ")[0]
        return _with_query(_reverse("records:instruments"), search=isin) if isin else None
    return None


def _alert_or_404(alert_id: int):
    alert = selectors.alert_get(alert_id)
    if alert is None:
        raise Http404("No such alert.")
    return alert


def _alert_page(request, alert, *, forms_given=None, status=200):
    now = timezone.now()
    _annotate_sla([alert], now)
    records = [{**record, "url": _record_url(record["type"], record["id"], alert, str(record.get("label", ""))),
                "type_text": record["type"].replace("_", " ").capitalize()}
               for record in selectors.evidence_records(alert)]
    figures = [(name, str(name).replace("_", " ").capitalize(), value)
               for name, value in selectors.evidence_figures(alert).items()]
    may_work = roles.user_has_role(request.user, *WORKERS)
    is_open = alert.state in selectors.OPEN_STATES
    given = forms_given or {}
    steps = {}
    if may_work:
        if is_open:
            steps["assign"] = given.get("assign") or AssignForm(
                initial={"owner": alert.owner.username if alert.owner else request.user.get_username()})
            if alert.state != AlertState.ESCALATED:
                steps["escalate"] = given.get("escalate") or EscalateForm(auto_id="escalate-%s")
            steps["close"] = given.get("close") or CloseForm(auto_id="close-%s")
        else:
            steps["reopen"] = given.get("reopen") or ReopenForm(auto_id="reopen-%s")
        steps["note"] = given.get("note") or NoteForm(auto_id="note-%s")
    return render(request, "compliance/alert_detail.html", {
        "alert": alert, "records": records, "figures": figures,
        "events": selectors.alert_events(alert), "may_work": may_work, "steps": steps,
        "may_investigate": may_work and alert.state == AlertState.OPEN, "now": now,
    }, status=status)


@login_required
def alert_detail(request, alert_id: int):
    roles.require_role(request, READERS)
    return _alert_page(request, _alert_or_404(alert_id))


_STEPS = {
    # step: (form class, service, the form field passed as which keyword, message)
    "assign": (AssignForm, services.alert_assign, ("owner", "owner"), "Alert {pk} is {owner}'s."),
    "investigate": (None, services.alert_investigate, None, "Alert {pk} is under investigation by {owner}."),
    "escalate": (EscalateForm, services.alert_escalate, ("note", "note"), "Alert {pk} is escalated."),
    "close": (CloseForm, services.alert_close, ("disposition", "disposition"), "Alert {pk} is closed."),
    "reopen": (ReopenForm, services.alert_reopen, ("reason", "reason"), "Alert {pk} is reopened (investigating)."),
    "note": (NoteForm, services.alert_note, ("note", "note"), "Note added to alert {pk}."),
}


@login_required
@require_POST
def alert_step(request, alert_id: int, step: str):
    roles.require_role(request, WORKERS)
    if step not in _STEPS:
        raise Http404("No such step.")
    alert = _alert_or_404(alert_id)
    form_class, service, field, message = _STEPS[step]
    kwargs = {}
    if form_class is not None:
        form = form_class(request.POST, auto_id=f"{step}-%s") if step != "assign" else form_class(request.POST)
        if not form.is_valid():
            messages.error(request, f"Alert {alert.pk}: nothing done, see the form.")
            return _alert_page(request, alert, forms_given={step: form}, status=400)
        kwargs[field[1]] = form.cleaned_data[field[0]]
    try:
        done = service(actor=request.user, alert_id=alert.pk, **kwargs)
    except BusinessRuleError as exc:
        if form_class is not None and exc.field in form.fields:
            form.add_error(exc.field, exc.message)
            messages.error(request, f"Alert {alert.pk}: nothing done, see the form.")
            return _alert_page(request, alert, forms_given={step: form}, status=400)
        messages.error(request, exc.message)
    else:
        messages.success(request, message.format(pk=done.pk, owner=done.owner.username if done.owner else "nobody"))
    return redirect("compliance:alert", alert_id=alert.pk)


# The daily summary -----------------------------------------------------------------------------------------

class SummaryForm(forms.Form):
    day = forms.DateField(required=False, label="Day", widget=DateInput)


@login_required
def daily_summary(request):
    roles.require_role(request, READERS)
    today = timezone.localdate()
    form = SummaryForm(request.GET if request.GET.get("day") else {"day": today.isoformat()})
    day = (form.cleaned_data.get("day") if form.is_valid() else None) or today
    summary = selectors.daily_summary(day=day)
    day_text = day.isoformat()
    return render(request, "compliance/summary.html", {
        "form": form, "summary": summary, "day": day, "today": today,
        "severities": selectors.SEVERITY_ORDER,
        "blocks": [{"id": "opened", "title": "Alerts opened", "breakdown": summary.opened,
                    "rows": [(selectors.kind_texts(kind)[0], counts) for kind, counts in summary.opened.rows.items()]},
                   {"id": "closed", "title": "Alerts closed", "breakdown": summary.closed,
                    "rows": [(selectors.kind_texts(kind)[0], counts) for kind, counts in summary.closed.rows.items()]}],
        "open_by_severity": [summary.open_now[s] for s in selectors.SEVERITY_ORDER],
        "opened_url": _with_query(reverse("compliance:alerts"), state=ALL, date_from=day_text, date_to=day_text),
        "previous_day": (day - timedelta(days=1)).isoformat(),
        "next_day": (day + timedelta(days=1)).isoformat() if day < today else None,
    })


urlpatterns = [
    path("alerts/", alert_list, name="alerts"),
    path("alerts/assign/", alert_assign_bulk, name="alerts-assign"),
    path("alerts/<int:alert_id>/", alert_detail, name="alert"),
    path("alerts/<int:alert_id>/<slug:step>/", alert_step, name="alert-step"),
    path("summary/", daily_summary, name="summary"),
]
