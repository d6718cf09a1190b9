"""Admin of settlements' runs models (loaded by settlements/admin.py)."""
