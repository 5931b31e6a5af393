"""JWT endpoints (djangorestframework-simplejwt) with the login throttle."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer, TokenRefreshSerializer
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from dashboard.apis.base import errors
from dashboard.apis.throttling import LoginThrottle


@extend_schema_view(
    post=extend_schema(responses={200: TokenObtainPairSerializer, **errors(400, 429)})
)
class TokenObtainApi(TokenObtainPairView):
    throttle_classes = [LoginThrottle]


@extend_schema_view(post=extend_schema(responses={200: TokenRefreshSerializer, **errors(400, 429)}))
class TokenRefreshApi(TokenRefreshView):
    throttle_classes = [LoginThrottle]
