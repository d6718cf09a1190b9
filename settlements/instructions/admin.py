"""Admin of settlements' instructions models (loaded by settlements/admin.py)."""
