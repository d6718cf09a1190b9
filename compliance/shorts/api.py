"""Placeholder wiring until the shorts API lands."""

urlpatterns = []
