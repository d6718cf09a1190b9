"""Dashboard pages of settlements' instructions (included by settlements/urls.py)."""

urlpatterns: list = []
