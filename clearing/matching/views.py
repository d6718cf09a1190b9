"""Dashboard pages of clearing's matching (included by clearing/urls.py)."""

urlpatterns: list = []
