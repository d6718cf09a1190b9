"""Admin of settlements' fails models (loaded by settlements/admin.py)."""
