"""What one viewer may see of a cohort: the one place GraphQL takes the privacy rule from.

The rule itself is ``dashboard/selectors/privacy.py`` (product.md, "Privacy by role"),
shared with REST and ``/ws/live/``; resolvers and subscriptions import it from here only.
"""

from __future__ import annotations

from dashboard.selectors.privacy import (
    Viewer,
    event_for,
    learner_row_for,
    sees_whole_event,
    viewer_for,
    viewer_role,
)

__all__ = [
    "Viewer",
    "event_for",
    "learner_row_for",
    "sees_whole_event",
    "viewer_for",
    "viewer_role",
]
