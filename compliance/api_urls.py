"""The API of compliance, under /api/v1/ (API.md "Compliance"): restricted list, rules, alerts, surveillance
runs, locates and borrows, the penalty box."""

from compliance.alerts.api import urlpatterns as alert_api
from compliance.restricted.api import urlpatterns as restricted_api
from compliance.rules.api import urlpatterns as rule_api
from compliance.shorts.api import urlpatterns as short_api
from compliance.surveillance.api import urlpatterns as surveillance_api

urlpatterns = [*restricted_api, *rule_api, *alert_api, *surveillance_api, *short_api]
