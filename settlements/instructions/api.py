"""The API of settlements' instructions (included by settlements/api_urls.py)."""

urlpatterns: list = []
