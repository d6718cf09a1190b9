"""Celery tasks of settlements' runs (loaded by settlements/tasks.py)."""
