"""Admin of clearing's matching models (loaded by clearing/admin.py)."""
