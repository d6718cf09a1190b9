"""Dashboard pages of accounting/journals."""

urlpatterns = []
