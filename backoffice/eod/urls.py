from django.urls import path

from backoffice.eod import views

app_name = "eod"

urlpatterns = [
    path("", views.run_list, name="runs"),
    path("start/", views.run_start, name="run-start"),
    path("<int:job_id>/", views.run_detail, name="run-detail"),
    path("<int:job_id>/rerun/", views.run_rerun, name="run-rerun"),
]
