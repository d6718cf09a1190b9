"""API of accounting/reports."""

urlpatterns = []
