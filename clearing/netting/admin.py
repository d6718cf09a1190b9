"""Admin of clearing's netting models (loaded by clearing/admin.py)."""
