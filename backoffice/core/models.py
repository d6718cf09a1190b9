"""The kernel's models, where Django looks for them: the batch-job framework's."""

from backoffice.core.jobs.models import JobChunk, JobRun

__all__ = ["JobChunk", "JobRun"]
