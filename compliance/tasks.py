"""Celery tasks of compliance (found by the Celery app's autodiscovery): each sub-domain's tasks."""

import compliance.surveillance.tasks  # noqa: F401
