"""Placeholder wiring until the alerts API lands."""

urlpatterns = []
