"""The event log: seq allocation and the single append used by every write."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from dashboard import clock, prometheus
from dashboard.models import Cohort, Event
from dashboard.selectors.caching import cohort_cache_invalidate_on_commit
from realtime.broadcasting import broadcast_on_commit

# Written out rather than built with the ORM: every write runs them, and building each
# statement cost ~0.5-1 ms of CPU against ~0.1 ms to run it (docs/performance.md,
# session 6). SQLite (3.35+) and PostgreSQL both have RETURNING.
_LOCK_COHORT = "SELECT 1 FROM dashboard_cohort WHERE id = %s FOR UPDATE"
_NEXT_SEQ = "UPDATE dashboard_cohort SET head_seq = head_seq + 1 WHERE id = %s RETURNING head_seq"


def cohort_log_lock(*, cohort_id: int) -> datetime:
    """Take the cohort's log lock (held to commit) and return the time to stamp the write.

    Stamping under the lock that serialises seq allocation makes ``at`` non-decreasing in
    seq order across concurrent writers. Take it after the write's other locks (lock order:
    the write's own rows, then the cohort), then use the returned time for every row.
    """
    connection = transaction.get_connection()
    if connection.features.has_select_for_update:
        with connection.cursor() as cursor:
            cursor.execute(_LOCK_COHORT, [cohort_id])
    # else SQLite: ``BEGIN IMMEDIATE`` took the database's write lock for the transaction.
    return clock.now()


def event_append(
    *,
    cohort_id: int,
    kind: str,
    actor: User | None,
    data: dict[str, Any],
    at: datetime | None = None,
    learner_id: int | None = None,
) -> Event:
    """Append one event to the cohort's log and schedule its broadcast after commit.

    Must run inside the caller's transaction. The UPDATE takes the cohort row's lock and
    holds it to commit, so seqs are allocated one at a time per cohort and commit in order.
    Callers take their other locks first and this one last, which keeps lock order fixed.
    ``at`` is the write's own timestamp from ``cohort_log_lock``, so the event and the rows
    it describes agree; without it the event is stamped here, under the lock.
    ``learner_id`` is the learner the event is about; left out, it is ``data["learner"]``'s
    id when the event names one (reactions pass their target event's).
    """
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        raise RuntimeError("event_append must run inside the write's transaction")
    with connection.cursor() as cursor:
        cursor.execute(_NEXT_SEQ, [cohort_id])
        row = cursor.fetchone()
    if row is None:
        raise Cohort.DoesNotExist(f"No cohort {cohort_id}.")
    seq = row[0]
    event = Event.objects.create(
        cohort_id=cohort_id,
        seq=seq,
        kind=kind,
        actor=actor,  # type: ignore[misc]
        data=data,
        learner_id=learner_id if learner_id is not None else _learner_of(data),
        created_at=at or clock.now(),
    )
    # Before the broadcast: a client reacting to the pushed event must already miss the
    # cohort's cached reads.
    cohort_cache_invalidate_on_commit(cohort_id)
    broadcast_on_commit(event)
    prometheus.event_appended(kind)
    return event


def _learner_of(data: dict[str, Any]) -> int | None:
    """Return the id of the learner ``data`` names (``{"learner": {"id": ...}}``), if any."""
    learner = data.get("learner")
    if isinstance(learner, dict) and isinstance(learner.get("id"), int):
        return int(learner["id"])
    return None
