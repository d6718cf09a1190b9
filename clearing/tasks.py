"""Celery tasks of clearing (found by the Celery app's autodiscovery): each sub-domain's tasks."""

import clearing.matching.tasks
import clearing.netting.tasks  # noqa: F401
