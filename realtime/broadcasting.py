"""The one publish path: every message to the channel layer (events, presence, metrics).

``publish(group, message)`` hands a layer message (built by realtime/protocol.py) to the
channel layer without ever blocking the caller; ``publish_now`` is the same send awaited
(the hub's presence publisher, which sends one message per cohort at a time). Both end in
``_send``, bounded by ``REALTIME_PUBLISH_TIMEOUT``: a failure is logged and left to
recovery (the next event's seq shows the gap to every hub, reconnecting clients replay
the log).

Services call ``broadcast_on_commit(event)`` inside their transaction; the payload is
serialised at once (while the rows are at hand) and published only after the
transaction commits. Nothing else in the codebase talks to the channel layer.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction

from realtime import protocol
from realtime.protocol import EventPayload, PresenceEntry
from realtime.serverloop import server_loop

if TYPE_CHECKING:
    from dashboard.models import Event

logger = logging.getLogger(__name__)


def publish(group: str, message: Any) -> None:
    """Send ``message`` to ``group`` without blocking a write on it; never raise.

    On the server's event loop (called there, or scheduled from another thread) the send
    is a task and the caller returns at once; so it is on any other running loop. With no
    loop (a management command, a test client) it is a synchronous send, bounded.
    """
    try:
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        loop = server_loop() or running
        if loop is None:
            async_to_sync(_send)(group, message)
        elif loop is running:
            _spawn(group, message)
        else:
            loop.call_soon_threadsafe(_spawn, group, message)
    except Exception:
        logger.warning("publishing to %s failed", group, exc_info=True)


async def publish_now(group: str, message: Any) -> None:
    """``publish``, awaited on the running loop: returns once the layer took it (or
    failed, logged)."""
    await _send(group, message)


def _spawn(group: str, message: Any) -> None:
    asyncio.get_running_loop().create_task(_send(group, message))


async def _send(group: str, message: Any) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        await asyncio.wait_for(
            layer.group_send(group, message), float(settings.REALTIME_PUBLISH_TIMEOUT)
        )
    except Exception as exc:
        # Recovery covers it: the next event shows the gap, reconnects replay the log.
        logger.warning("publish to %s failed: %r", group, exc)


# The messages ------------------------------------------------------------------------


def broadcast_on_commit(event: Event) -> None:
    """Publish ``event`` to its cohort's subscribers once the current transaction commits."""
    payload = protocol.event_payload(event)
    cohort_id = event.cohort_id
    transaction.on_commit(lambda: publish_event(cohort_id, payload))


def publish_event(cohort_id: int, payload: EventPayload) -> None:
    """Push one committed event to the cohort's topic; never raise into the caller.

    The event is JSON-encoded here, once; every server process wraps that text into its
    frame without decoding it.
    """
    try:
        message = protocol.event_message(cohort_id, payload)
    except Exception:
        logger.warning(
            "publishing event %s#%s failed", cohort_id, payload.get("seq"), exc_info=True
        )
        return
    publish(protocol.cohort_group(cohort_id), message)


def publish_metrics(sample: dict[str, Any]) -> None:
    """Push one cache metrics sample to the ``metrics:cache`` topic; never raise.

    Called by the metrics sampler once a second, from any thread or from the server loop.
    """
    try:
        message = protocol.metrics_message(sample)
    except Exception:
        logger.warning("publishing a metrics sample failed", exc_info=True)
        return
    publish(protocol.METRICS_GROUP, message)


def publish_presence(
    cohort_id: int, *, joins: list[PresenceEntry], leaves: list[PresenceEntry]
) -> None:
    """Push a presence diff to the cohort's topic; never raise."""
    publish(protocol.cohort_group(cohort_id), protocol.presence_message(cohort_id, joins, leaves))
