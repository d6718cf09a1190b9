"""The API of clearing's matching (included by clearing/api_urls.py)."""

urlpatterns: list = []
