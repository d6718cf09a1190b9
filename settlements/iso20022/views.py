"""Dashboard pages of the ISO 20022 messages (wired by settlements/fails/views.py): an instruction's sese.023.

The instruction and fail pages link to it; it answers the same XML as the API, as a download. An
instruction that cannot be exported goes back to where the link was, with the reasons.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import NoReverseMatch, path, reverse
from django.utils.http import url_has_allowed_host_and_scheme

from backoffice.core import roles
from settlements.iso20022 import builder, selectors

READERS = (roles.OPERATIONS, roles.COMPLIANCE, roles.ACCOUNTING)


def _back(request, instruction_id: int):
    referer = request.headers.get("referer", "")
    if referer and url_has_allowed_host_and_scheme(referer, allowed_hosts={request.get_host()},
                                                   require_https=request.is_secure()):
        return redirect(referer)
    try:
        return redirect(reverse("settlements:instruction-detail", args=[instruction_id]))
    except NoReverseMatch:
        return redirect("settlements:fails")


@login_required
def instruction_sese023(request, instruction_id: int):
    roles.require_role(request, READERS)
    facts = selectors.instruction_export_facts(instruction_id)
    if facts is None:
        raise Http404("No such instruction.")
    xml, problems = builder.sese023_export(facts)
    if problems:
        messages.error(request, f"Instruction {instruction_id} cannot be exported as {builder.MESSAGE}: "
                                + " ".join(problems))
        return _back(request, instruction_id)
    response = HttpResponse(xml, content_type=f"{builder.CONTENT_TYPE}; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{builder.sese023_filename(instruction_id)}"'
    return response


urlpatterns = [
    path("instructions/<int:instruction_id>/sese023/", instruction_sese023, name="instruction-sese023"),
]
