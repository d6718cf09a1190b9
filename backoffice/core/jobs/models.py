"""Job runs and their committed chunks."""

from django.conf import settings
from django.db import models


class JobRun(models.Model):
    """One run of a batch job: its plan (steps), progress, outcome and who or what started it."""

    class Status(models.TextChoices):
        QUEUED = "QUEUED", "Queued"
        RUNNING = "RUNNING", "Running"
        COMPLETED = "COMPLETED", "Completed"
        FAILED = "FAILED", "Failed"

    kind = models.CharField(max_length=64)
    parameters = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    # The plan, written when the run starts: [{"name", "chunks", "done"}, ...] in order.
    steps = models.JSONField(default=list, blank=True)
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    rows_affected = models.BigIntegerField(default=0)
    result = models.JSONField(null=True, blank=True)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    started_by_label = models.CharField(max_length=150, blank=True, help_text="Username, or beat, a command...")
    rerun_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reruns")
    # The run this one is a stage of (an end-of-day run's matching, netting...), if any.
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children")
    attempts = models.PositiveIntegerField(default=0, help_text="Times a worker began executing it.")
    # The Celery task that created the run, if one did: its redelivery continues this run.
    task_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    traceback = models.TextField(blank=True, help_text="Shown to administrators only.")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["kind", "-created_at"]), models.Index(fields=["status", "-created_at"])]
        constraints = [models.UniqueConstraint(fields=["task_id"], condition=~models.Q(task_id=""),
                                               name="core_jobrun_created_once_per_task")]

    def __str__(self):
        return f"{self.kind} #{self.pk} {self.status}"

    @property
    def progress(self) -> float:
        """Completed share of the chunks, 0 to 1 (1 for a completed run with nothing to do)."""
        if self.status == self.Status.COMPLETED:
            return 1.0
        return round(self.chunks_done / self.chunks_total, 4) if self.chunks_total else 0.0

    @property
    def duration(self):
        """Time from start to finish (or to now while running); None before it starts."""
        from django.utils import timezone

        if self.started_at is None:
            return None
        return (self.finished_at or timezone.now()) - self.started_at


class JobChunk(models.Model):
    """A chunk of a step that committed. It exists only once its work has: a rerun skips it."""

    job = models.ForeignKey(JobRun, on_delete=models.CASCADE, related_name="chunks")
    step = models.CharField(max_length=64)
    index = models.PositiveIntegerField()
    rows = models.BigIntegerField(default=0)
    result = models.JSONField(null=True, blank=True)
    done_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "step", "index"], name="core_jobchunk_once")]

    def __str__(self):
        return f"{self.job_id}/{self.step}/{self.index}"
