"""Celery tasks of settlements (found by the Celery app's autodiscovery): each sub-domain's tasks."""

import settlements.fails.tasks
import settlements.instructions.tasks
import settlements.runs.tasks  # noqa: F401
