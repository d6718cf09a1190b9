"""Placeholder wiring until the rules API lands."""

urlpatterns = []
