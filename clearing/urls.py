"""Dashboard pages of clearing, under /clearing/: confirmations and breaks, netting runs and obligations."""

from clearing.matching.views import urlpatterns as matching_pages
from clearing.netting.views import urlpatterns as netting_pages

app_name = "clearing"

urlpatterns = [*matching_pages, *netting_pages]
