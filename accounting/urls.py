"""Dashboard pages of accounting, under /accounting/: reports, journal, P&L, reconciliation, posting, chart, periods."""

from accounting.chart.views import urlpatterns as chart_pages
from accounting.journals.views import urlpatterns as journal_pages
from accounting.periods.views import urlpatterns as period_pages
from accounting.posting.views import urlpatterns as posting_pages
from accounting.reconciliation.views import urlpatterns as reconciliation_pages
from accounting.reports.views import urlpatterns as report_pages

app_name = "accounting"

urlpatterns = [*report_pages, *journal_pages, *reconciliation_pages, *posting_pages, *chart_pages, *period_pages]
