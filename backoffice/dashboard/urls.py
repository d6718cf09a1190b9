from django.contrib.auth import views as auth_views
from django.urls import path

from . import jobs, views

urlpatterns = [
    path("", views.home, name="home"),
    path("jobs/", jobs.job_list, name="jobs"),
    path("jobs/progress/", jobs.job_progress, name="jobs-progress"),
    path("jobs/<int:job_id>/rerun/", jobs.job_rerun_view, name="job-rerun"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
]
