"""Who is viewing a cohort now (filled by the realtime layer)."""

from __future__ import annotations

from realtime.protocol import PresenceEntry


def presence_snapshot(cohort_id: int) -> list[PresenceEntry]:
    """Return one entry per person viewing the cohort now, oldest first."""
    return []
