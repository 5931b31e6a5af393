"""The one path from a committed event to subscribers.

Services call ``broadcast_on_commit(event)`` inside their transaction; the payload is
serialised at once (while the rows are at hand) and handed to ``publish`` only after the
transaction commits. Nothing else in the codebase talks to the channel layer for events.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.db import transaction

from realtime.protocol import EventPayload, event_payload

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

    A publish that fails is logged and left to recovery: subscribers that see the next
    event's gap (or reconnect) replay the log from the database.
    """
    # The realtime layer plugs in here (issue "Realtime"). Until then events reach
    # clients through REST paging and WebSocket recovery.
    logger.debug("event %s#%s committed", cohort_id, payload["seq"])


def publish_metrics(sample: dict) -> None:
    """Push one cache metrics sample to the ``metrics:cache`` topic; never raise.

    Called by the metrics sampler (``dashboard.metrics_sampler``) once a second. The
    realtime layer implements the fan-out (issue "Realtime").
    """
    logger.debug("metrics sample at %s", sample.get("at"))
