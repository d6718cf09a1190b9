"""Celery tasks of settlements' fails (loaded by settlements/tasks.py)."""
