"""API tokens: revoke a user's tokens when their password changes."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken


def user_tokens_revoke(*, user: AbstractBaseUser) -> int:
    """Blacklist every refresh token issued to ``user`` that is not yet; return how many.

    Access tokens need no list: they carry a hash of the password hash, which no longer
    matches after a change (``SIMPLE_JWT["CHECK_REVOKE_TOKEN"]``).
    """
    if user.pk is None:
        return 0
    outstanding = OutstandingToken.objects.filter(user_id=user.pk, blacklistedtoken__isnull=True)
    revoked = BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=token) for token in outstanding], ignore_conflicts=True
    )
    return len(revoked)


class RevokeTokensOnPasswordChange:
    """A password "validator" that validates nothing: Django calls ``password_changed``
    on each validator whenever a user with a new password is saved (the admin, the
    ``changepassword`` command, ``set_password()`` + ``save()``), which is the one hook
    every way of changing a password goes through."""

    def validate(self, password: str, user: Any = None) -> None:
        return None

    def password_changed(self, password: str, user: Any = None) -> None:
        if user is not None:
            user_tokens_revoke(user=user)

    def get_help_text(self) -> str:
        return ""
