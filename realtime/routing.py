"""WebSocket routes (the realtime layer fills these)."""

from __future__ import annotations

from typing import Any

websocket_urlpatterns: list[Any] = []
