"""The API of clearing, under /api/v1/: confirmations, clearing runs and obligations (API.md "Clearing")."""

from clearing.matching.api import urlpatterns as matching_api
from clearing.netting.api import urlpatterns as netting_api

urlpatterns = [*matching_api, *netting_api]
