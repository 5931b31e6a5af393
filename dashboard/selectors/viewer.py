"""Who is reading, and what of a learner row or an event they may see (product.md,
"Privacy by role").

A stand-in with the interface of ``dashboard.selectors.privacy`` (being written on another
branch): once that module is on main, the v1.1 reads import it instead and this file goes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db import connection

from dashboard.models import Cohort, Event

_MEMBER = "SELECT id, role FROM dashboard_membership WHERE user_id = %s AND cohort_id = %s"
_RISK_KINDS = frozenset({Event.Kind.LEARNER_AT_RISK, Event.Kind.LEARNER_ON_TRACK})


@dataclass(frozen=True)
class Viewer:
    user_id: int
    sees_all: bool  # staff, or a mentor of this cohort
    learner_id: int | None  # the viewer's own learner (membership) id in this cohort


def viewer_for(*, user: User | AnonymousUser, cohort_id: int) -> Viewer | None:
    """Return who ``user`` is in the cohort, or None when it is not visible to them."""
    if not user.is_authenticated:
        return None
    if getattr(user, "is_staff", False):
        if not Cohort.objects.filter(pk=cohort_id).exists():
            return None
        return Viewer(user_id=user.pk, sees_all=True, learner_id=None)
    with connection.cursor() as cursor:
        cursor.execute(_MEMBER, [user.pk, cohort_id])
        row = cursor.fetchone()
    if row is None:
        return None
    membership_id, role = row
    if role == "mentor":
        return Viewer(user_id=user.pk, sees_all=True, learner_id=None)
    return Viewer(user_id=user.pk, sees_all=False, learner_id=membership_id)


def learner_row_for(row: dict[str, Any], viewer: Viewer) -> dict[str, Any]:
    """Return a snapshot learner entry as ``viewer`` may see it: a peer without scores or risk."""
    if viewer.sees_all or row["id"] == viewer.learner_id:
        return row
    return {
        **row,
        "progress": {slug: {**cell, "score": None} for slug, cell in row["progress"].items()},
        "at_risk": None,
        "risk_reasons": [],
    }


def event_for(payload: dict[str, Any], viewer: Viewer) -> dict[str, Any]:
    """Return an event payload as ``viewer`` may see it: a peer's risk becomes a placeholder,
    a peer's score null."""
    if viewer.sees_all:
        return payload
    learner = (payload.get("data") or {}).get("learner") or {}
    if not isinstance(learner, dict) or learner.get("id") == viewer.learner_id:
        return payload
    if payload["kind"] in _RISK_KINDS:
        return {
            "seq": payload["seq"],
            "kind": "hidden",
            "at": payload["at"],
            "actor": None,
            "data": {},
        }
    if payload["kind"] == Event.Kind.PROGRESS_UPDATED:
        return {**payload, "data": {**payload["data"], "score": None}}
    return payload
