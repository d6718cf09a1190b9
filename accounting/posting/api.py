"""API of accounting/posting."""

urlpatterns = []
