"""The API of compliance, under /api/v1/ (API.md "Compliance"): the restricted list."""

from compliance.restricted.api import urlpatterns as restricted_api

urlpatterns = [*restricted_api]
