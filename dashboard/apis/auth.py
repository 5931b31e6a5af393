"""JWT endpoints (djangorestframework-simplejwt) with the login throttle and lockout, and
the JWT authentication every API view and the WebSocket share."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.serializers import (
    TokenBlacklistSerializer,
    TokenObtainPairSerializer,
    TokenRefreshSerializer,
)
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.views import (
    TokenBlacklistView,
    TokenObtainPairView,
    TokenRefreshView,
)

from dashboard.apis.authentication import TokenAuthentication
from dashboard.apis.base import errors
from dashboard.apis.throttling import LoginThrottle


def _refresh_token(raw: Any) -> RefreshToken:
    """Return the valid refresh token ``raw`` of an active user whose password has not
    changed since it was issued; raise ``InvalidToken`` or ``AuthenticationFailed``."""
    try:
        token = RefreshToken(raw)
    except TokenError as exc:
        raise InvalidToken(str(exc)) from exc
    except (TypeError, ValueError, OverflowError, KeyError) as exc:
        raise InvalidToken("The token's claims are not valid.") from exc
    user = TokenAuthentication().get_user(token)
    if not user.is_active:
        raise exceptions.AuthenticationFailed("User is inactive", code="user_inactive")
    return token


class RefreshInputSerializer(TokenRefreshSerializer):
    def validate(self, attrs: dict[str, Any]) -> dict[str, str]:
        _refresh_token(attrs["refresh"])
        return super().validate(attrs)


class BlacklistInputSerializer(TokenBlacklistSerializer):
    def validate(self, attrs: dict[str, Any]) -> dict[Any, Any]:
        _refresh_token(attrs["refresh"])
        return super().validate(attrs)


# --------------------------------------------------------------------------------------
# Endpoints
# --------------------------------------------------------------------------------------


class LockedOut(exceptions.APIException):
    status_code = 429
    default_detail = (
        "Too many failed logins for this account from this address: locked for a while, "
        "or until staff unlock it."
    )
    default_code = "locked_out"


@extend_schema_view(
    post=extend_schema(responses={200: TokenObtainPairSerializer, **errors(400, 429)})
)
class TokenObtainApi(TokenObtainPairView):
    throttle_classes = [LoginThrottle]

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        try:
            return super().post(request, *args, **kwargs)
        except exceptions.AuthenticationFailed:
            # django-axes flags the request it refused (docs/security.md, lockout).
            if getattr(request, "axes_locked_out", False):
                raise LockedOut() from None
            raise


@extend_schema_view(post=extend_schema(responses={200: TokenRefreshSerializer, **errors(400, 429)}))
class TokenRefreshApi(TokenRefreshView):
    """Trade a refresh token for an access token and a new refresh token (the old one is
    blacklisted: each works once)."""

    serializer_class = RefreshInputSerializer  # type: ignore[assignment]
    throttle_classes = [LoginThrottle]


@extend_schema_view(
    post=extend_schema(responses={200: TokenBlacklistSerializer, **errors(400, 429)})
)
class TokenBlacklistApi(TokenBlacklistView):
    """Log a program out: its refresh token can no longer be used."""

    serializer_class = BlacklistInputSerializer  # type: ignore[assignment]
    throttle_classes = [LoginThrottle]
