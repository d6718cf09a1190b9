"""Dashboard pages of settlements, under /settlements/: the queue and instructions, runs, fails."""

from settlements.fails.views import urlpatterns as fail_pages
from settlements.instructions.views import urlpatterns as instruction_pages
from settlements.runs.views import urlpatterns as run_pages

app_name = "settlements"

urlpatterns = [*instruction_pages, *run_pages, *fail_pages]
