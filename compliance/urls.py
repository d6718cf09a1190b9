"""Dashboard pages of compliance, under /compliance/: the restricted list."""

from compliance.restricted.views import urlpatterns as restricted_pages

app_name = "compliance"

urlpatterns = [*restricted_pages]
