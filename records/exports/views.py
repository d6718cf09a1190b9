"""Dashboard page of the books-and-records exports: download a date range, and the signed daily manifests.

Operations, compliance and accounting see it. Views parse a form, call one service or selector and
render; a manifest that does not verify says why.
"""

from datetime import date, timedelta

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from backoffice.core import roles
from backoffice.core.exceptions import BusinessRuleError
from backoffice.core.forms import DateInput
from backoffice.core.roles import require_role
from records.exports import selectors
from records.exports import services as exports

READERS = (roles.OPERATIONS, roles.COMPLIANCE, roles.ACCOUNTING)


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
    require_role(request, READERS)
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
    manifests = Paginator(selectors.export_manifest_list(), 30).get_page(request.GET.get("page"))
    return render(request, "records/exports.html", {
        "form": form, "downloads": downloads, "page": manifests, "max_days": exports.MAX_RANGE_DAYS,
    })


@login_required
def export_download(request, kind: str):
    require_role(request, READERS)
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
    manifest = selectors.export_manifest_get(day)
    if manifest is None:
        raise Http404
    return manifest


@login_required
def manifest_file(request, business_date: str, name: str):
    require_role(request, READERS)
    path = exports.manifest_file_path(_manifest_or_404(business_date), name)
    if path is None or not path.is_file():
        raise Http404
    return FileResponse(open(path, "rb"), as_attachment=True, filename=f"{business_date}_{name}",
                        content_type="text/csv; charset=utf-8")


@login_required
@require_POST
def manifest_verify(request, business_date: str):
    require_role(request, READERS)
    manifest = _manifest_or_404(business_date)
    check = exports.export_manifest_verify(manifest)
    if check.ok:
        messages.success(request, f"Manifest {manifest.business_date} verifies: signature and all "
                                  f"{len(check.files)} file hashes match.")
    else:
        messages.error(request, f"Manifest {manifest.business_date} does NOT verify: " + "; ".join(check.problems))
    return redirect("records:exports")
