"""Job runs over the API (docs: API.md, "Jobs and end of day"): list and detail, read-only.

Operations, compliance and accounting read every job. A front-office system reads the jobs it started
(a trade file it uploaded, say), so that it can poll the job the 202 gave it; another's job is a 404 to it.
The output serializer is shared by the APIs that start a job and answer 202 with it.
"""

import django_filters
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, serializers

from backoffice.core.jobs import selectors
from backoffice.core.jobs.models import JobRun
from backoffice.core.permissions import HasRole
from backoffice.core.roles import ACCOUNTING, COMPLIANCE, FRONT_OFFICE, OPERATIONS, user_has_role

ALL_JOBS = (OPERATIONS, COMPLIANCE, ACCOUNTING)
JobReaders = HasRole(*ALL_JOBS, FRONT_OFFICE)


def _visible_jobs(view):
    """Every job for the back-office roles; a front-office user's own jobs only."""
    jobs = selectors.job_list()
    if getattr(view, "swagger_fake_view", False) or user_has_role(view.request.user, *ALL_JOBS):
        return jobs  # the schema generator's view has no signed-in user
    return jobs.filter(started_by=view.request.user)


class JobFilter(django_filters.FilterSet):
    kind = django_filters.CharFilter(help_text="A kind of job, e.g. audit-verify, daily-exports, retention-purge.")
    status = django_filters.ChoiceFilter(choices=JobRun.Status.choices)

    class Meta:
        model = JobRun
        fields = ["kind", "status"]


class JobStepOutput(serializers.Serializer):
    name = serializers.CharField()
    chunks = serializers.IntegerField()
    done = serializers.IntegerField()


class JobOutput(serializers.ModelSerializer):
    progress = serializers.FloatField(help_text="Share of the chunks committed, 0 to 1.")
    steps = JobStepOutput(many=True)
    started_by = serializers.CharField(source="started_by_label", help_text="Username, or what started it.")
    duration_seconds = serializers.SerializerMethodField()
    traceback = serializers.SerializerMethodField()

    class Meta:
        model = JobRun
        fields = ["id", "kind", "status", "progress", "parameters", "steps", "chunks_total", "chunks_done",
                  "rows_affected", "result", "started_by", "rerun_of", "parent", "attempts", "created_at", "started_at",
                  "finished_at", "duration_seconds", "error", "traceback"]

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_duration_seconds(self, job):
        return None if job.duration is None else round(job.duration.total_seconds(), 3)

    @extend_schema_field(serializers.CharField(allow_null=True, help_text="Superusers only; null for others."))
    def get_traceback(self, job):
        request = self.context.get("request")
        user = getattr(request, "user", None)
        return job.traceback if user is not None and user.is_superuser else None


class JobListApi(generics.ListAPIView):
    permission_classes = [JobReaders]
    serializer_class = JobOutput
    filterset_class = JobFilter

    def get_queryset(self):
        return _visible_jobs(self)

    @extend_schema(description="Batch job runs, newest first (for a front-office user, the jobs it started).")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class JobDetailApi(generics.RetrieveAPIView):
    permission_classes = [JobReaders]
    serializer_class = JobOutput

    def get_queryset(self):
        return _visible_jobs(self)

    @extend_schema(description="One batch job run: status, progress, steps, timestamps, counts and error "
                               "(a front-office user sees only the jobs it started: 404 for others).")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
