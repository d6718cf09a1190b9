"""What the batch-job framework tells the apps: the kernel imports no app, so it announces, and an app listens.

job_rerun_requested is sent by job_rerun inside its transaction, once the new run is recorded, with
original (the FAILED run), job (the new QUEUED run pointing back to it) and started_by (a user, a
label or None). A receiver that raises rolls the rerun back: the records app writes the rerun's
audit record this way (records/audit/signals.py), in the same transaction as the run.

job_resumed is sent by job_resume inside its transaction, with original (a copy of the run as it
was, FAILED), job (the same run, QUEUED again, its committed chunks kept) and started_by: the
records app audits the resumption the same way.
"""

from django.dispatch import Signal

job_rerun_requested = Signal()
job_resumed = Signal()
