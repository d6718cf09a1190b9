"""The API of settlements' runs (included by settlements/api_urls.py)."""

urlpatterns: list = []
