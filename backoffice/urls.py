from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from backoffice.core.jobs.api import JobDetailApi, JobListApi
from backoffice.health import healthz

api_v1 = [
    path("", include("records.api.urls")),
    path("", include("clearing.api_urls")),
    path("", include("settlements.api_urls")),
    path("", include("accounting.api_urls")),
    path("", include("compliance.api_urls")),
    path("", include("backoffice.eod.api_urls")),
    path("jobs/", JobListApi.as_view(), name="api-jobs"),
    path("jobs/<int:pk>/", JobDetailApi.as_view(), name="api-job"),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # For people: a signed-out browser is sent to the login page and back, not shown a 403.
    path("api/docs/", login_required(SpectacularSwaggerView.as_view(url_name="schema")), name="swagger-ui"),
    path("healthz", healthz, name="healthz"),
    path("records/", include("records.urls")),
    path("clearing/", include("clearing.urls")),
    path("settlements/", include("settlements.urls")),
    path("accounting/", include("accounting.urls")),
    path("compliance/", include("compliance.urls")),
    path("eod/", include("backoffice.eod.urls")),
    path("", include("backoffice.dashboard.urls")),
]

handler404 = "backoffice.core.errors.not_found"
handler500 = "backoffice.core.errors.server_error"
