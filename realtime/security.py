"""Handshake checks: refuse cross-site WebSocket hijacking, let programs in."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host
from django.utils.http import is_same_domain

# (scheme, host, port): what an Origin is, by the web's same-origin rule.
Origin = tuple[str, str, int]

_DEFAULT_PORTS = {"http": 80, "https": 443}


def parse_origin(value: str) -> Origin | None:
    """Return ``value`` (an Origin header or a configured origin) as (scheme, host, port),
    or None when it is not an http(s) origin (``null``, garbage)."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return parts.scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[parts.scheme]


def served_origin(scope: dict[str, Any], host: str) -> Origin | None:
    """Return the origin this handshake was addressed to: its scheme (``wss`` behind a
    TLS proxy that says so, see uvicorn's proxy headers) and its ``Host``."""
    scheme = "https" if scope.get("scheme") in {"wss", "https"} else "http"
    domain, port = split_domain_port(host)
    if not domain:
        return None
    return scheme, domain.strip("[]"), int(port) if port else _DEFAULT_PORTS[scheme]


def _allowed_hosts() -> list[str]:
    allowed = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    return allowed


def _trusted(origin: Origin) -> bool:
    """``CSRF_TRUSTED_ORIGINS``, as Django reads it: exact, or ``https://*.example.com``."""
    for entry in settings.CSRF_TRUSTED_ORIGINS:
        rest = entry.partition("://")[2]
        wildcard = rest.startswith("*.")
        trusted = parse_origin(entry.replace("://*.", "://", 1) if wildcard else entry)
        if trusted is None or (trusted[0], trusted[2]) != (origin[0], origin[2]):
            continue
        if origin[1] == trusted[1] or (wildcard and is_same_domain(origin[1], "." + trusted[1])):
            return True
    return False


def origin_allowed(scope: dict[str, Any], origin_header: str | None) -> bool:
    """Accept a handshake without ``Origin`` (a program); one with it only from the site
    itself (same scheme, host and port as the handshake, on an allowed host) or from an
    origin in ``CSRF_TRUSTED_ORIGINS``."""
    if origin_header is None:
        return True
    origin = parse_origin(origin_header)
    if origin is None:
        return False
    if _trusted(origin):
        return True
    host = next((v.decode("latin1") for k, v in scope.get("headers", []) if k == b"host"), None)
    if host is None:
        # No Host header (an in-process test scope; HTTP/1.1 requires one): the host name
        # alone must be allowed.
        return validate_host(origin[1], _allowed_hosts())
    served = served_origin(scope, host)
    return origin == served and validate_host(origin[1], _allowed_hosts())


class BrowserOriginValidator:
    """Refuse a handshake whose ``Origin`` is not this site's; accept one without.

    A browser always sends ``Origin``, so a foreign page (another port or scheme of the
    same host included) cannot ride the session cookie. A handshake without ``Origin``
    comes from a program: it is accepted, and the consumer ignores any session on it, so
    it must authenticate with a token frame.
    """

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: Any, receive: Any, send: Any) -> Any:
        origin = None
        for name, value in scope.get("headers", []):
            if name == b"origin":
                origin = value.decode("latin1")
        if not origin_allowed(scope, origin):
            return await WebsocketDenier()(scope, receive, send)
        # The server's own ``send``, before any middleware wraps it: the hub writes event
        # frames through it (the session middleware's wrapper would check the session
        # on every frame, and hides the server's transport).
        return await self.application({**scope, "realtime.send": send}, receive, send)
