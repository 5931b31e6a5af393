"""The page's own ``applyEvent`` (frontend/src/state.js), run through node, for Python tests.

Tests that check "snapshot + events = a fresh snapshot" apply the events with the real
client code rather than a Python copy of it, so a server change the page does not follow
fails a test. One node process per call: :func:`replay` takes every frame at once.

    result = replay(snapshot, [frame_events, ...])
    result.state   # the page's state after the frames, in the snapshot's shape
    result.applied, result.duplicates, result.gaps

Tests using it carry ``@requires_node`` (skipped, with the reason, where node is missing).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tests" / "statejs_replay.mjs"
NODE = shutil.which("node")

requires_node = pytest.mark.skipif(
    NODE is None, reason="node is not installed: the page's state.js cannot run"
)


@dataclass
class Replay:
    """What the page's state.js made of the frames."""

    state: dict[str, Any]  # seq, cohort, milestones, learners (in order), feed, stats
    frames: list[dict[str, Any]]  # per frame: applied, duplicates, gap

    @property
    def applied(self) -> int:
        return sum(f["applied"] for f in self.frames)

    @property
    def duplicates(self) -> int:
        return sum(f["duplicates"] for f in self.frames)

    @property
    def gaps(self) -> int:
        return sum(1 for f in self.frames if f["gap"])


def replay(snapshot: dict[str, Any], frames: list[list[dict[str, Any]]]) -> Replay:
    """Build the page's state from ``snapshot`` and apply ``frames`` (each a list of
    events, as an ``event`` or ``events`` frame brings them) with ``applyEvents``."""
    if NODE is None:
        pytest.skip("node is not installed: the page's state.js cannot run")
    with tempfile.TemporaryDirectory(prefix="statejs-") as workdir:
        path = Path(workdir) / "input.json"
        path.write_text(json.dumps({"snapshot": snapshot, "frames": frames}))
        done = subprocess.run(
            [NODE, str(SCRIPT), str(path)],
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 0, f"node failed:\n{done.stderr[-4000:]}"
    out = json.loads(done.stdout)
    return Replay(state=out["state"], frames=out["frames"])


def empty_snapshot(snapshot: dict[str, Any]) -> dict[str, Any]:
    """Return ``snapshot``'s cohort as it stood at seq 0: its milestones (which no event
    creates), no learners, no feed, zero counts; for replaying a log from its start."""
    statuses = ("not_started", "in_progress", "submitted", "completed")
    return {
        "cohort": snapshot["cohort"],
        "milestones": snapshot["milestones"],
        "learners": [],
        "feed": [],
        "seq": 0,
        "stats": {
            "completion": 0,
            "on_track": 0,
            "at_risk": 0,
            "by_milestone": {m["slug"]: dict.fromkeys(statuses, 0) for m in snapshot["milestones"]},
        },
        "presence": [],
    }


def grid(state: dict[str, Any]) -> dict[tuple[int, str], tuple[str, Any, int, str]]:
    """Return every cell's (status, score, version, updated_at), by (learner id, slug)."""
    return {
        (row["id"], slug): (cell["status"], cell["score"], cell["version"], cell["updated_at"])
        for row in state["learners"]
        for slug, cell in row["progress"].items()
    }
