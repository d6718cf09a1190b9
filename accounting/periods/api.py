"""API of accounting/periods."""

urlpatterns = []
