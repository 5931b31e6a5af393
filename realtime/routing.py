"""WebSocket routes: one endpoint, many topics on it."""

from __future__ import annotations

from typing import Any

from django.urls import path

from realtime.consumers import LiveConsumer
from realtime.graphql_ws import GraphQLWSConsumer

websocket_urlpatterns: list[Any] = [
    path("ws/live/", LiveConsumer.as_asgi()),
    # GraphQL subscriptions (graphql-transport-ws) beside POST /graphql/ on the same path.
    path("graphql/", GraphQLWSConsumer.as_asgi()),
    path("graphql", GraphQLWSConsumer.as_asgi()),
]
