"""Dashboard pages of settlements' fails (included by settlements/urls.py)."""

urlpatterns: list = []
