"""Placeholder wiring until the surveillance API lands."""

urlpatterns = []
