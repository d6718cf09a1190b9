"""The API of settlements' fails (included by settlements/api_urls.py)."""

urlpatterns: list = []
