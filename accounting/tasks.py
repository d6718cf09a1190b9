"""Celery tasks of accounting (found by the Celery app's autodiscovery): each sub-domain's tasks."""

import accounting.posting.tasks
import accounting.reconciliation.tasks  # noqa: F401
