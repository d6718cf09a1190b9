"""Dashboard pages of accounting/reports."""

urlpatterns = []
