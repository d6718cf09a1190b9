"""Dashboard pages of accounting/chart."""

urlpatterns = []
