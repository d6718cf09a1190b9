"""Placeholder wiring until the shorts pages land."""

urlpatterns = []
