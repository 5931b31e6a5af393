"""The login lockout (django-axes) as this project uses it (docs/security.md)."""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from django.http import HttpRequest


class LockoutBackend(AxesStandaloneBackend):
    """django-axes' check, for logins that come with a request.

    Every login from the network does (the sign-in page, the admin, the token endpoint);
    ``authenticate()`` without one (a shell, a management command, a test) has no client
    address to lock, and axes would refuse it outright.
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> None:
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)  # type: ignore[arg-type]
