"""Reads of the event log about one learner: their timeline and one cell's history.

Both use ``Event.learner_id`` (set by ``event_append``) and its index, so they read only
that learner's events whatever the size of the cohort's log.
"""

from __future__ import annotations

from typing import Any

from dashboard.errors import NotFound
from dashboard.formats import iso_ms
from dashboard.models import Event
from dashboard.selectors.cohorts import snapshot_bundle
from dashboard.selectors.learners import learner_header
from dashboard.selectors.privacy import Viewer, event_for
from realtime.protocol import event_payload, user_ref

TIMELINE_MAX = 200


def learner_timeline(
    *, cohort_id: int, learner_id: int, viewer: Viewer, before: int | None = None, limit: int = 50
) -> dict[str, Any]:
    """Return the learner's header and their events with ``seq < before``, newest first.

    ``next`` is the ``before`` of the next (older) page, None when this page is the last.
    Raise ``NotFound`` for a learner who is not there or not the viewer's to read.
    """
    learner = learner_header(cohort_id=cohort_id, learner_id=learner_id, viewer=viewer)
    limit = min(limit, TIMELINE_MAX)
    events = Event.objects.filter(cohort_id=cohort_id, learner_id=learner_id)
    if before is not None:
        events = events.filter(seq__lt=before)
    page = list(events.select_related("actor").order_by("-seq")[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    return {
        "learner": learner,
        "results": [event_for(dict(event_payload(e)), viewer) for e in page],
        "next": page[-1].seq if more else None,
    }


def cell_history(
    *, cohort_id: int, learner_id: int, milestone_slug: str, viewer: Viewer
) -> list[dict[str, Any]]:
    """Return each version of the learner's cell on the milestone, newest first.

    The versions are the cell's ``progress.updated`` events, and version 1 from the
    ``learner.added`` event that created it. A learner reads a peer's cell without scores.
    Raise ``NotFound`` for a learner or milestone that is not in the cohort.
    """
    bundle = snapshot_bundle(cohort_id=cohort_id)
    if not any(row["id"] == learner_id for row in bundle["learners"]):
        raise NotFound("No such learner in this cohort.")
    if not any(m["slug"] == milestone_slug for m in bundle["milestones"]):
        raise NotFound("No such milestone in this cohort's program.")
    events = (
        Event.objects.filter(
            cohort_id=cohort_id,
            learner_id=learner_id,
            kind__in=(Event.Kind.PROGRESS_UPDATED, Event.Kind.LEARNER_ADDED),
        )
        .select_related("actor")
        .order_by("-seq")
    )
    shows_score = viewer.sees_all or viewer.learner_id == learner_id
    versions = []
    for event in events:
        state = _cell_state(event, milestone_slug)
        if state is None:
            continue
        versions.append(
            {
                "version": state["version"],
                "status": state["status"],
                "score": state.get("score") if shows_score else None,
                "at": iso_ms(event.created_at),
                "actor": user_ref(event.actor) if event.actor_id else None,
                "seq": event.seq,
            }
        )
    return versions


def _cell_state(event: Event, milestone_slug: str) -> dict[str, Any] | None:
    """Return the cell's state the event sets, or None when the event is about another cell."""
    data = event.data or {}
    if event.kind == Event.Kind.LEARNER_ADDED:
        cell = (data.get("progress") or {}).get(milestone_slug)
        return cell if isinstance(cell, dict) else None
    return data if data.get("milestone") == milestone_slug else None
