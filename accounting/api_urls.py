"""The API of accounting, under /api/v1/accounting/ (API.md "Accounting")."""

from django.urls import include, path

from accounting.chart.api import urlpatterns as chart_api
from accounting.journals.api import urlpatterns as journal_api
from accounting.periods.api import urlpatterns as period_api
from accounting.posting.api import urlpatterns as posting_api
from accounting.reconciliation.api import urlpatterns as reconciliation_api
from accounting.reports.api import urlpatterns as report_api

urlpatterns = [path("accounting/", include([*report_api, *journal_api, *reconciliation_api, *posting_api,
                                             *chart_api, *period_api]))]
