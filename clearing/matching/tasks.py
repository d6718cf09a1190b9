"""Celery tasks of clearing's matching (loaded by clearing/tasks.py)."""
