"""The JWT authentication every API view and the WebSocket share.

Its own module: DRF imports the authentication classes while importing its views, so
this must not import any view (dashboard/apis/auth.py does).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import Token

# A user id claim the database can look up: digits, at most 18 (as the path ids).
_MAX_ID_DIGITS = 18


class TokenAuthentication(JWTAuthentication):
    """simplejwt's JWT authentication, refusing odd claims with 401 ``token_not_valid``.

    A validly signed token can still carry claims simplejwt does not expect (``user_id:
    [1]``, ``exp: 10**30``): its checks then raise ``TypeError`` or ``OverflowError``,
    which would be a 500. The signature only proves who signed, not that the claims are
    sane, and the signing key may have leaked (docs/security.md).
    """

    def get_validated_token(self, raw_token: bytes) -> Token:
        try:
            return super().get_validated_token(raw_token)
        except InvalidToken:
            raise
        except (TypeError, ValueError, OverflowError, KeyError) as exc:
            raise InvalidToken("The token's claims are not valid.") from exc

    def get_user(self, validated_token: Token) -> Any:
        user_id = validated_token.get(api_settings.USER_ID_CLAIM)
        if not _is_id(user_id):
            raise InvalidToken("Token contained no recognizable user identification")
        return super().get_user(validated_token)


def _is_id(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return 0 < value < 10**_MAX_ID_DIGITS
    return isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18


class TokenAuthenticationScheme(SimpleJWTScheme):
    """Describe ``TokenAuthentication`` in OpenAPI as the bearer JWT it is."""

    target_class = "dashboard.apis.authentication.TokenAuthentication"
