"""Dashboard pages of accounting/posting."""

urlpatterns = []
