"""API of accounting/reconciliation."""

urlpatterns = []
