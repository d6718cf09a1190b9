"""The jobs page: every batch job run, its progress (polled), and a rerun for the failed ones."""

from datetime import timedelta

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from backoffice.core import roles
from backoffice.core.exceptions import BusinessRuleError
from backoffice.core.forms import page_of, with_all
from backoffice.core.jobs import selectors
from backoffice.core.jobs.models import JobRun
from backoffice.core.jobs.registry import JOB_KINDS
from backoffice.core.jobs.services import job_rerun
from backoffice.core.templatetags.dashboard import status_tone

READERS = (roles.OPERATIONS, roles.COMPLIANCE, roles.ACCOUNTING)
RUNNERS = (roles.OPERATIONS,)
ACTIVE = (JobRun.Status.QUEUED, JobRun.Status.RUNNING)
MAX_POLLED = 200


class JobFilterForm(forms.Form):
    kind = forms.ChoiceField(required=False)
    status = forms.ChoiceField(required=False, choices=with_all(JobRun.Status.choices))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = with_all(sorted((name, kind.title) for name, kind in JOB_KINDS.items()))


def duration_text(duration: timedelta | None) -> str:
    """Return "4.2 s", "3 min 05 s" or "1 h 02 min"; "" before a run starts."""
    if duration is None:
        return ""
    seconds = duration.total_seconds()
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, second = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {second:02d} s"
    hours, minute = divmod(minutes, 60)
    return f"{hours} h {minute:02d} min"


def _progress_of(job: JobRun) -> dict:
    return {"id": job.pk, "status": job.status, "status_label": job.get_status_display(),
            "tone": status_tone(job.status), "progress": job.progress, "chunks_done": job.chunks_done,
            "chunks_total": job.chunks_total, "rows_affected": job.rows_affected,
            "duration": duration_text(job.duration), "error": job.error}


@login_required
def job_list(request):
    roles.require_role(request, READERS)
    form = JobFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    page = page_of(request, selectors.job_list(kind=filters.get("kind"), status=filters.get("status")))
    for job in page:
        job.duration_text = duration_text(job.duration)
        job.kind_title = JOB_KINDS[job.kind].title if job.kind in JOB_KINDS else job.kind
    return render(request, "jobs/job_list.html", {
        "form": form, "page": page, "may_rerun": roles.user_has_role(request.user, *RUNNERS),
    })


@login_required
def job_progress(request):
    """The progress of the runs named by ?ids=1,2,3 as JSON, for the page's polling."""
    roles.require_role(request, READERS)
    ids = [int(part) for part in request.GET.get("ids", "").split(",") if part.isascii() and part.isdigit()]
    jobs = selectors.job_list(ids=ids[:MAX_POLLED])
    return JsonResponse({"jobs": [_progress_of(job) for job in jobs]})


@login_required
@require_POST
def job_rerun_view(request, job_id: int):
    roles.require_role(request, RUNNERS)
    try:
        job = job_rerun(job_id=job_id, started_by=request.user)
    except JobRun.DoesNotExist:
        messages.error(request, f"There is no job run {job_id}.")
    except BusinessRuleError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Run {job_id} rerun as job {job.pk}.")
    return redirect("jobs")
