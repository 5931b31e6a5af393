"""The one path from a committed event to subscribers.

Services call ``broadcast_on_commit(event)`` inside their transaction; the payload is
serialised at once (while the rows are at hand) and handed to ``publish`` only after the
transaction commits. Nothing else in the codebase talks to the channel layer for events.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction

from realtime.hub import (
    METRICS_GROUP,
    MSG_EVENT,
    MSG_METRICS,
    MSG_PRESENCE,
    cohort_group,
    server_loop,
)
from realtime.protocol import EventPayload, PresenceEntry, dumps, event_payload

if TYPE_CHECKING:
    from dashboard.models import Event

logger = logging.getLogger(__name__)


def broadcast_on_commit(event: Event) -> None:
    """Publish ``event`` to its cohort's subscribers once the current transaction commits."""
    payload = event_payload(event)
    cohort_id = event.cohort_id
    transaction.on_commit(lambda: publish(cohort_id, payload))


def publish(cohort_id: int, payload: EventPayload) -> None:
    """Push one committed event to the cohort's topic; never raise into the caller.

    The event is JSON-encoded here, once; every server process wraps that text into its
    frame without decoding it. A publish that fails is logged and left to recovery: the
    next event's seq shows the gap to every hub (which reads the missing events from the
    database), and reconnecting clients replay the log.
    """
    try:
        message = {
            "type": MSG_EVENT,
            "cohort": cohort_id,
            "seq": payload["seq"],
            "json": dumps(payload),
        }
        _group_send(cohort_group(cohort_id), message)
    except Exception:
        logger.warning(
            "publishing event %s#%s failed", cohort_id, payload.get("seq"), exc_info=True
        )


def publish_metrics(sample: dict) -> None:
    """Push one cache metrics sample to the ``metrics:cache`` topic; never raise.

    Called by the metrics sampler once a second, from any thread or from the server loop.
    """
    try:
        _group_send(METRICS_GROUP, {"type": MSG_METRICS, "json": dumps(sample)})
    except Exception:
        logger.warning("publishing a metrics sample failed", exc_info=True)


def publish_presence(
    cohort_id: int, *, joins: list[PresenceEntry], leaves: list[PresenceEntry]
) -> None:
    """Push a presence diff to the cohort's topic; never raise."""
    try:
        message = {"type": MSG_PRESENCE, "cohort": cohort_id, "joins": joins, "leaves": leaves}
        _group_send(cohort_group(cohort_id), message)
    except Exception:
        logger.warning("publishing presence of cohort %s failed", cohort_id, exc_info=True)


def _group_send(group: str, message: dict[str, Any]) -> None:
    """Hand the message to the channel layer without ever blocking a write on it.

    In a server process the send runs on the server's event loop (scheduled from this
    thread, or as a task when already on it), so the caller returns at once. Elsewhere (a
    management command, a test client) it is a synchronous send bounded by
    ``REALTIME_PUBLISH_TIMEOUT``.
    """
    loop = server_loop()
    try:
        running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if loop is not None:
        if running is loop:
            _send_on_loop(group, message)
        else:
            loop.call_soon_threadsafe(_send_on_loop, group, message)
        return
    if running is not None:
        running.create_task(_bounded_send(group, message))
        return
    async_to_sync(_bounded_send)(group, message)


def _send_on_loop(group: str, message: dict[str, Any]) -> None:
    asyncio.get_running_loop().create_task(_bounded_send(group, message))


async def _bounded_send(group: str, message: dict[str, Any]) -> None:
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
