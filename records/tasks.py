"""The Celery tasks of the records app, for Celery's autodiscovery (which imports records.tasks).

The tasks live in the sub-domain packages; importing their modules here registers them.
"""

from records.audit import tasks as audit_tasks
from records.exports import tasks as export_tasks
from records.retention import tasks as retention_tasks

__all__ = ["audit_tasks", "export_tasks", "retention_tasks"]
