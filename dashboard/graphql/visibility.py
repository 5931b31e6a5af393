"""What one viewer may see of a cohort: the one place GraphQL redacts (product.md,
"Privacy by role").

Every resolver and every subscription goes through these three functions. They keep the
interface of ``dashboard/selectors/privacy.py`` so that, once it exists, they become
re-exports of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AnonymousUser, User

from dashboard.models import Membership
from dashboard.selectors.access import cohort_role

# Events about one learner's risk: other learners get a placeholder, so seq stays gap-free.
_RISK_KINDS = frozenset({"learner.at_risk", "learner.on_track"})


@dataclass(frozen=True)
class Viewer:
    user_id: int
    sees_all: bool  # staff, or a mentor of this cohort
    learner_id: int | None  # the viewer's own learner (membership) id in this cohort


def viewer_for(*, user: User | AnonymousUser, cohort_id: int) -> Viewer | None:
    """Return how ``user`` sees the cohort, or None when it is not visible (NOT_FOUND)."""
    role = cohort_role(user=user, cohort_id=cohort_id)
    if role is None or user.pk is None:
        return None
    learner_id = None
    if role == "learner":
        learner_id = (
            Membership.objects.filter(user_id=user.pk, cohort_id=cohort_id)
            .values_list("pk", flat=True)
            .first()
        )
    return Viewer(user_id=int(user.pk), sees_all=role != "learner", learner_id=learner_id)


def learner_row_for(row: dict[str, Any], viewer: Viewer) -> dict[str, Any]:
    """Return a snapshot learner row as ``viewer`` may see it: a peer without score or risk."""
    if viewer.sees_all or row["id"] == viewer.learner_id:
        return row
    return {
        **row,
        "at_risk": None,
        "risk_reasons": [],
        "progress": {slug: {**cell, "score": None} for slug, cell in row["progress"].items()},
    }


def event_for(payload: dict[str, Any], viewer: Viewer) -> dict[str, Any]:
    """Return an event payload as ``viewer`` may see it."""
    if viewer.sees_all:
        return payload
    data = payload.get("data") or {}
    about = (data.get("learner") or {}).get("id") if isinstance(data, dict) else None
    kind = payload.get("kind")
    if kind in _RISK_KINDS and about != viewer.learner_id:
        return {
            "seq": payload["seq"],
            "kind": "hidden",
            "at": payload["at"],
            "actor": None,
            "data": {},
            "kudos": payload.get("kudos", 0),
            "comments": payload.get("comments", 0),
        }
    if kind == "progress.updated" and about != viewer.learner_id:
        return {**payload, "data": {**data, "score": None}}
    if kind == "report.daily":
        completed = [{**c, "score": None} for c in data.get("completed", [])]
        return {**payload, "data": {**data, "completed": completed, "newly_at_risk": []}}
    return payload
