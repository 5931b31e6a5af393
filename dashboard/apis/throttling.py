"""Per-user write throttling; ``WRITE_THROTTLE=off`` turns it off."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from rest_framework.request import Request
from rest_framework.throttling import AnonRateThrottle, BaseThrottle, UserRateThrottle

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class WriteThrottle(UserRateThrottle):
    """Throttle unsafe methods per user at ``WRITE_THROTTLE`` (default 120/min)."""

    scope = "write"

    def get_rate(self) -> str | None:
        return None if settings.WRITE_THROTTLE == "off" else settings.WRITE_THROTTLE

    def allow_request(self, request: Request, view: Any) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return super().allow_request(request, view)


class LoginThrottle(AnonRateThrottle):
    """Slow down password guessing per client address; off with ``WRITE_THROTTLE=off``."""

    scope = "login"

    def get_rate(self) -> str | None:
        return None if settings.WRITE_THROTTLE == "off" else "30/min"


def client_ip(request: HttpRequest | Request) -> str:
    """Return the client address the login throttle and the lockout key on.

    DRF's: ``REMOTE_ADDR`` when ``NUM_PROXIES`` is 0, else the address the outermost
    trusted proxy appended to ``X-Forwarded-For``; what a client writes there itself is
    never trusted (docs/security.md).
    """
    return BaseThrottle().get_ident(request)  # type: ignore[arg-type]
