"""Placeholder wiring until the alerts pages land."""

urlpatterns = []
