"""Celery tasks of clearing's netting (loaded by clearing/tasks.py)."""
