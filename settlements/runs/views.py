"""Dashboard pages of settlements' runs (included by settlements/urls.py)."""

urlpatterns: list = []
