"""JWT endpoints (djangorestframework-simplejwt) with the login throttle."""

from __future__ import annotations

from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from dashboard.apis.throttling import LoginThrottle


class TokenObtainApi(TokenObtainPairView):
    throttle_classes = [LoginThrottle]


class TokenRefreshApi(TokenRefreshView):
    throttle_classes = [LoginThrottle]
