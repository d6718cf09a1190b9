from django.urls import path

from backoffice.eod import api

urlpatterns = [
    path("eod/runs/", api.EodRunListApi.as_view(), name="api-eod-runs"),
    path("eod/runs/<int:run_id>/", api.EodRunDetailApi.as_view(), name="api-eod-run"),
    path("eod/runs/<int:run_id>/rerun/", api.EodRunRerunApi.as_view(), name="api-eod-run-rerun"),
]
