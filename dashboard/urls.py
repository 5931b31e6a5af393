from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path, register_converter
from drf_spectacular.views import SpectacularAPIView

from dashboard.apis.auth import TokenBlacklistApi, TokenObtainApi, TokenRefreshApi
from dashboard.apis.base import IdConverter
from dashboard.apis.cohorts import CohortEventsApi, CohortListApi, CohortSnapshotApi
from dashboard.apis.docs import swagger_ui
from dashboard.apis.errors import json_not_found
from dashboard.apis.export import CohortExportApi
from dashboard.apis.health import healthz, readyz
from dashboard.apis.learners import LearnerListApi, LearnerTimelineApi, ProgressHistoryApi
from dashboard.apis.me import MeApi
from dashboard.apis.metrics import CacheMetricsApi
from dashboard.apis.notifications import NotificationPreferencesApi
from dashboard.apis.program import ProgramOverviewApi
from dashboard.apis.progress import ProgressUpdateApi
from dashboard.apis.reactions import EventCommentsApi, KudosAddApi
from dashboard.pages import index
from dashboard.prometheus import metrics_view

register_converter(IdConverter, "id")

api = [
    path("auth/token/", TokenObtainApi.as_view(), name="token"),
    path("auth/token/refresh/", TokenRefreshApi.as_view(), name="token-refresh"),
    path("auth/token/blacklist/", TokenBlacklistApi.as_view(), name="token-blacklist"),
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
    # v1.1: the mentor's workflow (issue 19)
    path("cohorts/<id:cohort_id>/learners/", LearnerListApi.as_view(), name="learner-list"),
    path(
        "cohorts/<id:cohort_id>/learners/<id:learner_id>/timeline/",
        LearnerTimelineApi.as_view(),
        name="learner-timeline",
    ),
    path(
        "cohorts/<id:cohort_id>/progress/<id:learner_id>/<slug:milestone_slug>/history/",
        ProgressHistoryApi.as_view(),
        name="progress-history",
    ),
    path("cohorts/<id:cohort_id>/export.csv", CohortExportApi.as_view(), name="cohort-export"),
    path("me/notifications/", NotificationPreferencesApi.as_view(), name="notifications"),
    path("program/overview/", ProgramOverviewApi.as_view(), name="program-overview"),
    path("metrics/cache/", CacheMetricsApi.as_view(), name="cache-metrics"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", swagger_ui, name="swagger"),
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
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),
]

handler404 = "dashboard.pages.not_found"
handler500 = "dashboard.apis.errors.json_server_error"
