"""Dashboard pages of clearing's netting (included by clearing/urls.py)."""

urlpatterns: list = []
