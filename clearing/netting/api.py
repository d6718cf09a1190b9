"""The API of clearing's netting (included by clearing/api_urls.py)."""

urlpatterns: list = []
