"""Dashboard pages of accounting/periods."""

urlpatterns = []
