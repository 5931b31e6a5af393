"""Per-operation state: the caller, and each cohort's viewer and snapshot, read once."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AnonymousUser, User

from dashboard.apis.throttling import WriteThrottle
from dashboard.errors import NotFound
from dashboard.graphql.errors import Throttled
from dashboard.graphql.visibility import Viewer, viewer_for
from dashboard.selectors.cohorts import cohort_snapshot, snapshot_bundle

_ID = re.compile(r"[0-9]{1,18}")


def parse_id(value: object) -> int | None:
    """Return a GraphQL ``ID`` as a database id, or None when it cannot be one."""
    text = str(value)
    return int(text) if _ID.fullmatch(text) else None


@dataclass
class Context:
    user: User | AnonymousUser
    request: Any = None  # the DRF request over HTTP (the write throttle keys on it)
    _viewers: dict[int, Viewer | None] = field(default_factory=dict)
    _bundles: dict[int, dict[str, Any]] = field(default_factory=dict)
    _snapshots: dict[int, dict[str, Any]] = field(default_factory=dict)
    # False once a resolver read anything but the viewer's snapshot (the clock, another
    # selector): the result is then no function of the snapshot, not for the result cache.
    snapshot_only: bool = True

    def viewer(self, cohort_id: int) -> Viewer | None:
        """Return how the caller sees the cohort (None: not visible), asked once."""
        if cohort_id not in self._viewers:
            self._viewers[cohort_id] = viewer_for(user=self.user, cohort_id=cohort_id)
        return self._viewers[cohort_id]

    def viewer_or_404(self, cohort_id: object) -> tuple[int, Viewer]:
        """Return the cohort's id and the caller's viewer, or raise the one ``NotFound``."""
        pk = parse_id(cohort_id)
        viewer = self.viewer(pk) if pk is not None else None
        if pk is None or viewer is None:
            raise NotFound("No such cohort.")
        return pk, viewer

    def visible(self, cohort_id: int) -> Viewer:
        """Return the viewer of a cohort the caller reached (it may have left it since)."""
        viewer = self.viewer(cohort_id)
        if viewer is None:
            raise NotFound("No such cohort.")
        return viewer

    def bundle(self, cohort_id: int) -> dict[str, Any]:
        """Return the cohort's snapshot bundle (``snapshot_bundle``), read once per operation:
        every read of the cohort in one operation is of the same database state."""
        bundle = self._bundles.get(cohort_id)
        if bundle is None:
            bundle = self._bundles[cohort_id] = snapshot_bundle(cohort_id=cohort_id)
        return bundle

    def not_snapshot_only(self) -> None:
        """Say that this operation's answer depends on more than the cohort snapshot."""
        self.snapshot_only = False

    def snapshot(self, cohort_id: int) -> dict[str, Any]:
        """Return the cohort's snapshot as the caller may see it: every field of a
        ``Cohort`` reads this one read, so ``seq`` is consistent with the rest (one
        database snapshot, as over REST)."""
        snap = self._snapshots.get(cohort_id)
        if snap is None:
            viewer = self.visible(cohort_id)
            snap = cohort_snapshot(
                cohort_id=cohort_id, viewer=viewer, bundle=self.bundle(cohort_id)
            )
            self._snapshots[cohort_id] = snap
        return snap

    def throttle_write(self) -> None:
        """Count one write against REST's per-user write throttle, or raise ``Throttled``."""
        if self.request is None:
            return
        throttle = WriteThrottle()
        if not throttle.allow_request(self.request, None):
            raise Throttled(throttle.wait())
