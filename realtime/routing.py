"""WebSocket routes: one endpoint, many topics on it."""

from __future__ import annotations

from typing import Any

from django.urls import path

from realtime.consumers import LiveConsumer

websocket_urlpatterns: list[Any] = [
    path("ws/live/", LiveConsumer.as_asgi()),
]
