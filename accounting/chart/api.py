"""API of accounting/chart."""

urlpatterns = []
