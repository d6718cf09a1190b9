"""Dashboard pages of records keeping: retention and legal holds, and the books-and-records exports.

Operations, compliance and accounting see them; operations and compliance place and release
holds. Views parse a form, call one service or selector and render; a refused action shows its
reason on the page.
"""

from datetime import date, timedelta

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from backoffice.core import roles
from backoffice.core.exceptions import BusinessRuleError

from . import retention_selectors, selectors
from .models import LegalHold
from .services import exports, retention
from .views import DateInput

READERS = (roles.OPERATIONS, roles.COMPLIANCE, roles.ACCOUNTING)
HOLD_MANAGERS = (roles.OPERATIONS, roles.COMPLIANCE)


def _require(request, allowed: tuple[str, ...]) -> None:
    if not roles.user_has_role(request.user, *allowed):
        raise PermissionDenied("Your role does not allow this page.")


# Retention and legal holds ----------------------------------------------------------------------

class LegalHoldForm(forms.Form):
    scope = forms.ChoiceField(choices=LegalHold.Scope.choices)
    account = forms.CharField(required=False, max_length=30, label="Account",
                              widget=forms.TextInput(attrs={"placeholder": "Account code"}))
    instrument = forms.CharField(required=False, max_length=20, label="Instrument",
                                 widget=forms.TextInput(attrs={"placeholder": "ISIN or symbol"}))
    record_type = forms.CharField(required=False, max_length=100, label="Record type",
                                  widget=forms.TextInput(attrs={"placeholder": "records.trade"}))
    record_id = forms.CharField(required=False, max_length=100, label="Record id")
    matter = forms.CharField(required=False, max_length=100, label="Matter",
                             widget=forms.TextInput(attrs={"placeholder": "Case reference"}))
    reason = forms.CharField(max_length=1000, label="Reason")

    def clean_account(self):
        code = self.cleaned_data["account"].strip()
        if not code:
            return None
        account = selectors.account_find(code)
        if account is None:
            raise forms.ValidationError(f"No account {code!r}.")
        return account

    def clean_instrument(self):
        key = self.cleaned_data["instrument"].strip()
        if not key:
            return None
        found = selectors.instruments_find(key)
        if not found:
            raise forms.ValidationError(f"No instrument {key!r}.")
        if len(found) > 1:
            raise forms.ValidationError(f"{key!r} names {len(found)} instruments: give the ISIN.")
        return found[0]


class ReleaseForm(forms.Form):
    reason = forms.CharField(max_length=1000)


def _retention_page(request, hold_form: LegalHoldForm, *, status: int = 200):
    today = timezone.localdate()
    return render(request, "records/retention.html", {
        "today": today,
        "policies": retention_selectors.retention_policy_rows(today=today),
        "active_holds": retention_selectors.legal_hold_list(active=True),
        "released_holds": retention_selectors.legal_hold_list(active=False)[:50],
        "tombstones": retention_selectors.purge_tombstones(),
        "hold_form": hold_form,
        "can_manage_holds": roles.user_has_role(request.user, *HOLD_MANAGERS),
    }, status=status)


@login_required
def retention_page(request):
    _require(request, READERS)
    return _retention_page(request, LegalHoldForm())


@login_required
@require_POST
def legal_hold_place(request):
    _require(request, HOLD_MANAGERS)
    form = LegalHoldForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            hold = retention.legal_hold_place(
                actor=request.user, scope=data["scope"], account=data["account"], instrument=data["instrument"],
                record_type=data["record_type"], record_id=data["record_id"], reason=data["reason"],
                matter=data["matter"])
        except BusinessRuleError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, f"Legal hold #{hold.pk} placed: {hold}.")
            return redirect("records:retention")
    return _retention_page(request, form, status=400)


@login_required
@require_POST
def legal_hold_release(request, hold_id: int):
    _require(request, HOLD_MANAGERS)
    form = ReleaseForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Hold #{hold_id} not released: say why it is released.")
        return redirect("records:retention")
    try:
        hold = retention.legal_hold_release(actor=request.user, hold_id=hold_id, reason=form.cleaned_data["reason"])
    except BusinessRuleError as exc:
        messages.error(request, f"Hold #{hold_id} not released: {exc.message}")
    else:
        messages.success(request, f"Legal hold #{hold.pk} released.")
    return redirect("records:retention")


# Exports ----------------------------------------------------------------------------------------

class ExportRangeForm(forms.Form):
    date_from = forms.DateField(label="From", widget=DateInput)
    date_to = forms.DateField(label="To", widget=DateInput)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("date_from") and cleaned.get("date_to"):
            try:
                exports.export_range_check(cleaned["date_from"], cleaned["date_to"])
            except BusinessRuleError as exc:
                self.add_error("date_to", exc.message)
        return cleaned


@login_required
def exports_page(request):
    _require(request, READERS)
    today = timezone.localdate()
    if request.GET.get("date_from") or request.GET.get("date_to"):
        form = ExportRangeForm(request.GET)
    else:
        form = ExportRangeForm(initial={"date_from": today - timedelta(days=1), "date_to": today - timedelta(days=1)})
    downloads = []
    if form.is_bound and form.is_valid():
        date_from, date_to = form.cleaned_data["date_from"], form.cleaned_data["date_to"]
        downloads = [(kind, exports.export_filename(kind.name, date_from=date_from, date_to=date_to))
                     for kind in exports.EXPORTS.values()]
    manifests = Paginator(retention_selectors.export_manifest_list(), 30).get_page(request.GET.get("page"))
    return render(request, "records/exports.html", {
        "form": form, "downloads": downloads, "page": manifests, "max_days": exports.MAX_RANGE_DAYS,
    })


@login_required
def export_download(request, kind: str):
    _require(request, READERS)
    if kind not in exports.EXPORTS:
        raise Http404
    form = ExportRangeForm(request.GET)
    if not form.is_valid():
        messages.error(request, "Choose a valid range: " + "; ".join(e for errs in form.errors.values() for e in errs))
        return redirect("records:exports")
    date_from, date_to = form.cleaned_data["date_from"], form.cleaned_data["date_to"]
    response = StreamingHttpResponse(exports.export_csv(kind, date_from=date_from, date_to=date_to),
                                     content_type="text/csv; charset=utf-8")
    filename = exports.export_filename(kind, date_from=date_from, date_to=date_to)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _manifest_or_404(business_date: str):
    try:
        day = date.fromisoformat(business_date)
    except ValueError:
        raise Http404 from None
    manifest = retention_selectors.export_manifest_get(day)
    if manifest is None:
        raise Http404
    return manifest


@login_required
def manifest_file(request, business_date: str, name: str):
    _require(request, READERS)
    path = exports.manifest_file_path(_manifest_or_404(business_date), name)
    if path is None or not path.is_file():
        raise Http404
    return FileResponse(open(path, "rb"), as_attachment=True, filename=f"{business_date}_{name}",
                        content_type="text/csv; charset=utf-8")


@login_required
@require_POST
def manifest_verify(request, business_date: str):
    _require(request, READERS)
    manifest = _manifest_or_404(business_date)
    check = exports.export_manifest_verify(manifest)
    if check.ok:
        messages.success(request, f"Manifest {manifest.business_date} verifies: signature and all "
                                  f"{len(check.files)} file hashes match.")
    else:
        messages.error(request, f"Manifest {manifest.business_date} does NOT verify: " + "; ".join(check.problems))
    return redirect("records:exports")
