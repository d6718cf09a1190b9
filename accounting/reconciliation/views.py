"""Dashboard pages of accounting/reconciliation."""

urlpatterns = []
