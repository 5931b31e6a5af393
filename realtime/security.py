"""Handshake checks: refuse cross-site WebSocket hijacking, let programs in."""

from __future__ import annotations

from typing import Any

from channels.security.websocket import OriginValidator
from django.conf import settings


class BrowserOriginValidator(OriginValidator):
    """Refuse a handshake whose ``Origin`` is not an allowed host; accept one without.

    A browser always sends ``Origin``, so a foreign page cannot ride the session cookie. A
    handshake without ``Origin`` comes from a program: it is accepted, and the consumer
    ignores any session on it, so it must authenticate with a token frame.
    """

    def __init__(self, application: Any) -> None:
        allowed = list(settings.ALLOWED_HOSTS)
        if settings.DEBUG and not allowed:
            allowed = ["localhost", "127.0.0.1", "[::1]"]
        super().__init__(application, allowed)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> Any:
        # The server's own ``send``, before any middleware wraps it: the hub writes event
        # frames through it (the session middleware's wrapper would check the session
        # on every frame, and hides the server's transport).
        return await super().__call__({**scope, "realtime.send": send}, receive, send)

    def valid_origin(self, parsed_origin: Any) -> bool:
        if parsed_origin is None:
            return True
        return bool(self.validate_origin(parsed_origin))
