"""Privacy by role: what each member of a cohort may see of a score or a risk.

The rule of ``product.md`` ("Privacy by role"), in one place for every path that shows a
learner or an event (the REST snapshot and event pages, GraphQL, the WebSocket's live
events and replay): mentors of the cohort and staff see everything; a learner sees their
own scores and risk, and of a peer only the status of each milestone. Cohort-level counts
(completion, on track / at risk) are not this module's business: every member sees them.

What a learner gets instead of a peer's private data:

- a learner entry: every progress cell with ``score: null``, ``at_risk: null``,
  ``risk_reasons: []``;
- ``progress.updated`` and ``learner.added`` about a peer: ``score: null``;
- ``learner.at_risk`` and ``learner.on_track`` about a peer: the ``hidden`` placeholder
  (same ``seq`` and ``at``, no actor, no data), so the learner's ``seq`` stays gap-free;
- ``report.daily``: the counts stay; no score in ``completed``, nobody named in
  ``newly_at_risk`` (the digest is one text for every learner, own entries included);
- kudos and comments on a risk event (their data has ``private_to``, set by the reaction
  services): the ``hidden`` placeholder, like the event they react to.

An event has at most two forms: the full one (mentors, staff, and the learner it is
about) and the ``redacted_event`` one (every other learner). The WebSocket fan-out
encodes each form once per process, whatever the number of sockets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db import connection

from dashboard.errors import NotFound
from dashboard.models import Cohort, Membership
from realtime.protocol import HIDDEN_KIND

# Events that are about a learner's risk: a peer gets the placeholder instead.
RISK_KINDS = frozenset({"learner.at_risk", "learner.on_track"})
# Events naming one learner in ``data.learner.id``: that learner sees them in full.
_SUBJECT_KINDS = frozenset({"progress.updated", "learner.added", *RISK_KINDS})
# Reactions: private like their target when their data has ``private_to``.
_REACTION_KINDS = frozenset({"kudos.added", "comment.added"})

_MEMBERSHIP = "SELECT id, role FROM dashboard_membership WHERE user_id = %s AND cohort_id = %s"


@dataclass(frozen=True)
class Viewer:
    """Who is looking at a cohort, as far as privacy goes."""

    user_id: int
    sees_all: bool  # staff, or a mentor of this cohort
    learner_id: int | None  # the viewer's own learner (Membership) id in this cohort, else None


def viewer_for(*, user: User | AnonymousUser, cohort_id: int) -> Viewer | None:
    """Return what ``user`` may see of the cohort; None when they may not see it (404).

    One query (two for staff who are not members: does the cohort exist).
    """
    if not user.is_authenticated:
        return None
    with connection.cursor() as cursor:
        cursor.execute(_MEMBERSHIP, [user.pk, cohort_id])
        row = cursor.fetchone()
    learner_id = row[0] if row is not None and row[1] == Membership.Role.LEARNER else None
    if getattr(user, "is_staff", False):
        if row is None and not Cohort.objects.filter(pk=cohort_id).exists():
            return None
        return Viewer(user_id=int(user.pk), sees_all=True, learner_id=learner_id)
    if row is None:
        return None
    return Viewer(user_id=int(user.pk), sees_all=learner_id is None, learner_id=learner_id)


def viewer_for_or_404(*, user: User | AnonymousUser, cohort_id: int) -> Viewer:
    """Return the viewer, or raise ``NotFound``: existence is never leaked."""
    viewer = viewer_for(user=user, cohort_id=cohort_id)
    if viewer is None:
        raise NotFound("No such cohort.")
    return viewer


def viewer_role(*, user: User | AnonymousUser, viewer: Viewer) -> str:
    """Return the role the viewer has in the cohort as presence shows it."""
    if getattr(user, "is_staff", False):
        return "staff"
    return "mentor" if viewer.sees_all else "learner"


# --------------------------------------------------------------------------------------
# Learner entries
# --------------------------------------------------------------------------------------


def _scoreless(progress: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {slug: {**cell, "score": None} for slug, cell in progress.items()}


def learner_row_for(row: dict[str, Any], viewer: Viewer) -> dict[str, Any]:
    """Return a snapshot learner entry as ``viewer`` may see it; ``row`` is not changed.

    The viewer's own entry, and every entry for mentors and staff, is ``row`` itself.
    """
    if viewer.sees_all or row.get("id") == viewer.learner_id:
        return row
    redacted = {**row, "at_risk": None, "risk_reasons": []}
    if "progress" in row:
        redacted["progress"] = _scoreless(row["progress"])
    return redacted


# --------------------------------------------------------------------------------------
# Events
# --------------------------------------------------------------------------------------


def event_subject(payload: dict[str, Any]) -> int | None:
    """Return the learner (membership) id the event is about, if it is about one."""
    kind = payload.get("kind")
    data = payload.get("data") or {}
    if kind in _REACTION_KINDS:
        private_to = data.get("private_to")
        return private_to if isinstance(private_to, int) else None
    if kind not in _SUBJECT_KINDS:
        return None
    learner = data.get("learner")
    learner_id = learner.get("id") if isinstance(learner, dict) else None
    return learner_id if isinstance(learner_id, int) else None


def redacted_event(payload: dict[str, Any]) -> dict[str, Any]:
    """Return the event as learners other than its subject see it; ``payload`` itself
    when nothing in it is private (kudos, comments, cohort changes)."""
    kind = payload.get("kind")
    data = payload.get("data") or {}
    if kind in RISK_KINDS or (kind in _REACTION_KINDS and "private_to" in data):
        return hidden_placeholder(payload)
    if kind == "progress.updated" and data.get("score") is not None:
        return {**payload, "data": {**data, "score": None}}
    if kind == "learner.added" and isinstance(data.get("progress"), dict):
        return {**payload, "data": {**data, "progress": _scoreless(data["progress"])}}
    if kind == "report.daily":
        completed = [{**item, "score": None} for item in data.get("completed") or []]
        return {**payload, "data": {**data, "completed": completed, "newly_at_risk": []}}
    return payload


def hidden_placeholder(payload: dict[str, Any]) -> dict[str, Any]:
    """Return the ``hidden`` stand-in of an event: its seq and time only.

    Its reaction counts are 0: reactions to a hidden event are hidden as well, so a
    client applying what it receives keeps the counts the placeholder shows.
    """
    return {
        "seq": payload["seq"],
        "kind": HIDDEN_KIND,
        "at": payload.get("at"),
        "actor": None,
        "data": {},
        "kudos": 0,
        "comments": 0,
    }


def sees_whole_event(payload: dict[str, Any], viewer: Viewer) -> bool:
    """Whether ``viewer`` may see the event whole (otherwise: its redacted form)."""
    if viewer.sees_all:
        return True
    return viewer.learner_id is not None and event_subject(payload) == viewer.learner_id


def event_for(payload: dict[str, Any], viewer: Viewer) -> dict[str, Any]:
    """Return an event payload as ``viewer`` may see it; ``payload`` is not changed."""
    return payload if sees_whole_event(payload, viewer) else redacted_event(payload)
