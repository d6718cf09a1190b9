"""Placeholder wiring until the rules pages land."""

urlpatterns = []
