from celery import shared_task

# Celery finds the kernel's tasks through this module: the job runner's lives with the framework.
from backoffice.core.jobs.tasks import job_run_task

__all__ = ["job_run_task", "ping"]


@shared_task(name="backoffice.ping", acks_late=True)
def ping() -> str:
    """Answer "pong": proves a worker consumes from the broker and stores results."""
    return "pong"
