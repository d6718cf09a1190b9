"""Celery tasks of settlements' instructions (loaded by settlements/tasks.py)."""
