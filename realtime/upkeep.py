"""The hub's upkeep loops: close idle and unauthenticated sockets, watch the channel layer.

``sweep_loop`` closes sockets idle too long (1001) or not authenticated in time (4401)
and ticks the heap policy and the hub's metrics; ``health_loop`` (a real layer only)
probes the layer through the process channel and, when it is lost, closes every socket
with 1012 so clients reconnect and recover.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from django.conf import settings

from dashboard import prometheus
from realtime import protocol

if TYPE_CHECKING:
    from realtime.hub import Hub

logger = logging.getLogger(__name__)


async def sweep_loop(hub: Hub) -> None:
    """Close sockets idle too long (1001) or not authenticated in time (4401)."""
    while True:
        await asyncio.sleep(float(settings.WS_SWEEP_INTERVAL))
        now = hub.loop.time()
        idle = float(settings.WS_IDLE_TIMEOUT)
        for conn in list(hub.connections):
            if conn.auth_deadline is not None and now >= conn.auth_deadline:
                conn.close_soon(protocol.CLOSE_UNAUTHENTICATED)
            elif now - conn.last_rx >= idle:
                conn.close_soon(protocol.CLOSE_GOING_AWAY)
        hub.heap.tick(len(hub.connections), hub.sockets_opened, hub.sockets_closed)
        prometheus.hub_sample()


async def health_loop(hub: Hub) -> None:
    """Probe the layer through this process's channel; on loss close every socket 1012."""
    while True:
        await asyncio.sleep(float(settings.REALTIME_HEALTH_INTERVAL))
        try:
            await asyncio.wait_for(
                hub.topics_registry.probe(None), float(settings.REALTIME_HEALTH_TIMEOUT)
            )
            if not hub.healthy:
                logger.warning("the channel layer is back")
            hub.healthy = True
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if hub.healthy:
                logger.error("the channel layer is lost (%r): closing sockets with 1012", exc)
            hub.healthy = False
            layer_lost(hub)


def layer_lost(hub: Hub) -> None:
    """Close every socket with 1012 and forget the topics: clients recover on return."""
    for conn in list(hub.connections):
        conn.close_soon(protocol.CLOSE_SERVICE_RESTART)
    hub.topics_registry.lost()
