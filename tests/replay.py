"""A reference client: apply events to a snapshot the way a dashboard does.

Used to prove that snapshot + events after it = a fresh snapshot (STYLE.md 6).
"""

from __future__ import annotations

import copy
from typing import Any


def apply_event(state: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    """Return ``state`` (a snapshot's learners/feed/seq) with ``event`` applied."""
    state = copy.deepcopy(state)
    if event["seq"] <= state["seq"]:
        return state  # a duplicate: already reflected
    if event["seq"] != state["seq"] + 1:
        raise AssertionError(f"gap: have {state['seq']}, got {event['seq']}")
    data = event["data"]
    learners = {row["id"]: row for row in state["learners"]}
    if event["kind"] == "progress.updated":
        cell = learners[data["learner"]["id"]]["progress"][data["milestone"]]
        cell.update(
            status=data["status"],
            score=data["score"],
            version=data["version"],
            updated_at=event["at"],
        )
    elif event["kind"] == "learner.added":
        state["learners"].append(
            {
                "id": data["learner"]["id"],
                "user": data["learner"]["user"],
                "name": data["learner"]["name"],
                "progress": copy.deepcopy(data["progress"]),
            }
        )
    elif event["kind"] in {"kudos.added", "comment.added"}:
        for item in state.get("feed", []):
            if item["seq"] == data["event"]:
                if event["kind"] == "kudos.added":
                    item["kudos"] = data["kudos"]
                else:
                    item["comments"] += 1
    state.setdefault("feed", []).insert(0, dict(event))
    state["feed"] = state["feed"][:50]
    state["seq"] = event["seq"]
    return state


def grid(state: dict[str, Any]) -> dict[tuple[int, str], tuple[str, Any, int, str]]:
    """Return the comparable part of a snapshot: every cell's status, score, version, time."""
    return {
        (row["id"], slug): (cell["status"], cell["score"], cell["version"], cell["updated_at"])
        for row in state["learners"]
        for slug, cell in row["progress"].items()
    }


EMPTY = {"learners": [], "feed": [], "seq": 0}
