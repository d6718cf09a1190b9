"""API of accounting/journals."""

urlpatterns = []
