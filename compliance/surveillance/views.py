"""Placeholder wiring until the surveillance pages land."""

urlpatterns = []
