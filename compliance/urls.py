"""Dashboard pages of compliance, under /compliance/: alerts, summary, rules, restricted list, locates, penalty
box, surveillance runs."""

from compliance.alerts.views import urlpatterns as alert_pages
from compliance.restricted.views import urlpatterns as restricted_pages
from compliance.rules.views import urlpatterns as rule_pages
from compliance.shorts.views import urlpatterns as short_pages
from compliance.surveillance.views import urlpatterns as surveillance_pages

app_name = "compliance"

urlpatterns = [*alert_pages, *rule_pages, *restricted_pages, *short_pages, *surveillance_pages]
