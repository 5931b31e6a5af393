from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path, register_converter
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from dashboard.apis.auth import TokenObtainApi, TokenRefreshApi
from dashboard.apis.base import IdConverter
from dashboard.apis.cohorts import CohortEventsApi, CohortListApi, CohortSnapshotApi
from dashboard.apis.errors import json_not_found
from dashboard.apis.health import healthz, readyz
from dashboard.apis.me import MeApi
from dashboard.apis.metrics import CacheMetricsApi
from dashboard.apis.progress import ProgressUpdateApi
from dashboard.apis.reactions import EventCommentsApi, KudosAddApi
from dashboard.graphql.views import GraphQLView
from dashboard.pages import index

register_converter(IdConverter, "id")

api = [
    path("auth/token/", TokenObtainApi.as_view(), name="token"),
    path("auth/token/refresh/", TokenRefreshApi.as_view(), name="token-refresh"),
    path("me/", MeApi.as_view(), name="me"),
    path("cohorts/", CohortListApi.as_view(), name="cohort-list"),
    path("cohorts/<id:cohort_id>/snapshot/", CohortSnapshotApi.as_view(), name="cohort-snapshot"),
    path("cohorts/<id:cohort_id>/events/", CohortEventsApi.as_view(), name="cohort-events"),
    path(
        "cohorts/<id:cohort_id>/progress/<id:learner_id>/<slug:milestone_slug>/",
        ProgressUpdateApi.as_view(),
        name="progress-update",
    ),
    path("cohorts/<id:cohort_id>/events/<id:seq>/kudos/", KudosAddApi.as_view(), name="kudos-add"),
    path(
        "cohorts/<id:cohort_id>/events/<id:seq>/comments/",
        EventCommentsApi.as_view(),
        name="comment-add",
    ),
    path("metrics/cache/", CacheMetricsApi.as_view(), name="cache-metrics"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger"),
    # Last: any other /api/ path is a JSON 404, with DEBUG on too.
    re_path(r"^[\s\S]*$", json_not_found),  # [\s\S]: "." stops at a newline (%0A)
]

urlpatterns = [
    path("", index, name="index"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            redirect_authenticated_user=True,
            extra_context={"show_demo_logins": settings.DEBUG},
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/", include(api)),
    path("graphql/", GraphQLView.as_view(), name="graphql"),
    # Without the slash too: APPEND_SLASH cannot redirect a POST (Django refuses it).
    path("graphql", GraphQLView.as_view()),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
]

handler404 = "dashboard.pages.not_found"
handler500 = "dashboard.apis.errors.json_server_error"
