"""The Trade files page: upload a trade file, follow its booking, download its report, read its rejected rows.

The same service and roles as POST /api/v1/trades/files/ (front office, operations; superusers).
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from backoffice.core import roles
from backoffice.core.keyset import keyset_page_of
from backoffice.core.roles import require_role
from records.trades.files import selectors, services
from records.trades.files.api import MISSING, report_csv

FILE_ROLES = (roles.FRONT_OFFICE, roles.OPERATIONS)
REJECTED_SHOWN = 200


class TradeFileForm(forms.Form):
    file = forms.FileField(label="Trade file", help_text="CSV (.csv) or NDJSON (.ndjson), UTF-8.",
                           widget=forms.ClearableFileInput(attrs={"accept": ".csv,.ndjson,.jsonl"}))


def _page(request, form):
    page = keyset_page_of(request, selectors.trade_file_list())
    selected = None
    rejected = []
    wanted = request.GET.get("file", "")
    if wanted.isdigit():
        selected = selectors.trade_file_get(int(wanted))
        if selected is not None:
            rejected = list(_first(selectors.trade_file_report(selected, rejected_only=True), REJECTED_SHOWN))
        else:
            messages.warning(request, MISSING.format(file_id=int(wanted)))
    return render(request, "records/trade_files.html", {
        "form": form, "page": page, "selected": selected, "rejected": rejected, "rejected_shown": REJECTED_SHOWN,
        "expected_columns": services.expected_columns()})


def _first(rows, count):
    for n, row in enumerate(rows):
        if n >= count:
            return
        yield row


@login_required
def trade_files(request):
    require_role(request, FILE_ROLES)
    return _page(request, TradeFileForm())


@login_required
@require_POST
def trade_file_upload(request):
    require_role(request, FILE_ROLES)
    form = TradeFileForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            file_format = services.file_format(name=upload.name, content_type=upload.content_type or "")
            file = services.trade_file_upload(uploaded_by=request.user, stream=upload, name=upload.name,
                                              format=file_format)
        except services.TradeFileRefused as exc:
            form.add_error("file", exc.message)
        else:
            messages.success(request, f"{file.name}: {file.row_count:,} rows staged; booking them is queued.")
            return redirect(f"{reverse('records:trade-files')}?file={file.pk}")
    return _page(request, form)


@login_required
def trade_file_report(request, file_id: int):
    require_role(request, FILE_ROLES)
    file = selectors.trade_file_get(file_id)
    if file is None:
        raise Http404
    return report_csv(file, rejected_only=request.GET.get("status") == "rejected")
