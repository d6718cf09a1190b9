"""The API of settlements, under /api/v1/: instructions, runs and fails (API.md "Settlements")."""

from settlements.fails.api import urlpatterns as fail_api
from settlements.instructions.api import urlpatterns as instruction_api
from settlements.runs.api import urlpatterns as run_api

urlpatterns = [*instruction_api, *run_api, *fail_api]
