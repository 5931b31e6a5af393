"""Snapshot + events = a fresh snapshot, over random write sequences (STYLE.md 6).

Take the REST snapshot, subscribe with ``since = snapshot.seq``, run random writes, apply
the events the socket delivers with the page's own ``applyEvents`` (frontend/src/state.js,
run through node by tests/statejs.py: one node process per example) and compare with a
fresh snapshot. It holds per role: a learner applying the events they receive (peers'
scores null, peers' risk events hidden) to their redacted snapshot gets their fresh
redacted snapshot.
"""

from __future__ import annotations

import asyncio
import itertools

import pytest
from channels.db import database_sync_to_async
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.errors import DomainError
from dashboard.models import Progress
from dashboard.selectors.cohorts import FEED_SIZE, cohort_snapshot
from dashboard.selectors.privacy import viewer_for
from dashboard.services.cohorts import cohort_update, learner_add
from dashboard.services.progress import progress_update
from dashboard.services.reactions import comment_add, kudos_add
from dashboard.services.reports import at_risk_update
from realtime.hub import stop_hub
from tests.factories import make_user
from tests.realtime.conftest import open_socket
from tests.statejs import replay, requires_node

pytestmark = [pytest.mark.django_db(transaction=True), requires_node]

_names = itertools.count(1)

STATUSES = ["not_started", "in_progress", "submitted", "completed"]

op = st.one_of(
    st.tuples(
        st.just("progress"),
        st.integers(0, 5),
        st.sampled_from(["python", "django", "docker"]),
        st.sampled_from(STATUSES),
        st.integers(0, 100),
    ),
    st.tuples(st.just("kudos"), st.integers(0, 50)),
    st.tuples(st.just("comment"), st.integers(0, 50), st.text(min_size=1, max_size=20)),
    st.tuples(st.just("learner")),
    st.tuples(st.just("rename"), st.text(min_size=1, max_size=30)),
    st.tuples(st.just("risk")),
)


# --------------------------------------------------------------------------------------
# The comparison
# --------------------------------------------------------------------------------------


def comparable(snapshot: dict) -> dict:
    """What must agree between the page's state and a fresh snapshot.

    The feed is the server's window (the last FEED_SIZE seqs) without the ``hidden``
    placeholders a learner's snapshot carries for peers' private events: the page drops
    those (they only advance its seq), so it may still hold an older event the window
    has passed. For a mentor this is the whole feed, as it was.
    """
    return {
        "seq": snapshot["seq"],
        "cohort": snapshot["cohort"],
        "learners": sorted(
            (
                {"id": r["id"], "name": r["name"], "progress": r["progress"]}
                for r in snapshot["learners"]
            ),
            key=lambda r: r["id"],
        ),
        "feed": [
            e
            for e in snapshot["feed"]
            if e["kind"] != "hidden" and e["seq"] > snapshot["seq"] - FEED_SIZE
        ],
    }


# --------------------------------------------------------------------------------------
# Writes
# --------------------------------------------------------------------------------------


def run_op(world, operation) -> None:
    """Run one write as the mentor; refused writes (4xx in REST) append nothing."""
    cohort = world.cohort
    kind = operation[0]
    try:
        if kind == "progress":
            _, index, slug, status, score = operation
            learners = list(cohort.memberships.filter(role="learner").order_by("id"))
            learner = learners[index % len(learners)]
            cell = Progress.objects.get(learner=learner, milestone__slug=slug)
            progress_update(
                actor=world.mentor,
                cohort_id=cohort.pk,
                learner_id=learner.pk,
                milestone_slug=slug,
                version=cell.version,
                status=status,
                score=score if status == "completed" else None,
            )
        elif kind in ("kudos", "comment"):
            cohort.refresh_from_db()
            target = operation[1] % cohort.head_seq + 1
            if kind == "kudos":
                kudos_add(actor=world.mentor, cohort_id=cohort.pk, seq=target)
            else:
                comment_add(actor=world.mentor, cohort_id=cohort.pk, seq=target, text=operation[2])
        elif kind == "learner":
            learner_add(
                actor=world.mentor,
                cohort=cohort,
                user=make_user(f"prop{next(_names)}", name="New One"),
            )
        elif kind == "rename":
            cohort_update(actor=world.mentor, cohort=cohort, name=operation[1])
        elif kind == "risk":
            at_risk_update(cohort_id=cohort.pk)
    except DomainError:
        pass


async def scenario(world, operations, split: int, user=None) -> None:
    """Writes ``operations[:split]`` while the client is away (they come back as the
    replay), then subscribe with the snapshot's seq, then the rest live; as ``user``
    (default the mentor), with the snapshots that user gets."""
    cohort_id = world.cohort.pk
    user = user or world.mentor
    viewer = await database_sync_to_async(viewer_for)(user=user, cohort_id=cohort_id)
    sock = await open_socket(user)
    try:
        before = await database_sync_to_async(cohort_snapshot)(cohort_id=cohort_id, viewer=viewer)
        for operation in operations[:split]:
            await database_sync_to_async(run_op)(world, operation)
        await sock.send(
            {"type": "subscribe", "topic": f"cohort:{cohort_id}", "since": before["seq"]}
        )
        subscribed = await sock.recv_type("subscribed")
        assert subscribed["recovered"] is True
        for operation in operations[split:]:
            await database_sync_to_async(run_op)(world, operation)
        after = await database_sync_to_async(cohort_snapshot)(cohort_id=cohort_id, viewer=viewer)
        frames: list[list[dict]] = []  # each `event` / `events` frame's events
        seen = before["seq"]
        while seen < after["seq"]:
            frame = await sock.recv()
            if frame["type"] == "event":
                frames.append([frame["event"]])
            elif frame["type"] == "events":
                frames.append(frame["events"])
            else:
                continue
            seen = max([seen, *(event["seq"] for event in frames[-1])])
        # The page's own applyEvent (frontend/src/state.js, through node), all at once.
        result = replay(before, frames)
        assert (result.applied, result.duplicates, result.gaps) == (
            after["seq"] - before["seq"],
            0,
            0,
        )
        assert comparable(result.state) == comparable(after)
        assert all(e["kind"] != "hidden" for e in result.state["feed"])  # shown nowhere
        assert await sock.nothing(0.05)
    finally:
        await sock.close()
        await stop_hub()


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(operations=st.lists(op, min_size=1, max_size=8), split=st.integers(0, 8))
def test_snapshot_plus_events_equals_a_fresh_snapshot(world, operations, split):
    asyncio.run(scenario(world, operations, split))


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(operations=st.lists(op, min_size=1, max_size=8), split=st.integers(0, 8))
def test_snapshot_plus_events_equals_a_fresh_snapshot_for_a_learner(world, operations, split):
    asyncio.run(scenario(world, operations, split, user=world.learner.user))


def test_a_learner_replaying_peers_scores_and_risk_matches_their_fresh_snapshot(world):
    """The per-role property on a fixed sequence that has everything private in it."""
    operations = [
        ("progress", 1, "python", "completed", 70),
        ("risk",),
        ("progress", 0, "python", "completed", 90),
        ("kudos", 3),
        ("progress", 2, "django", "completed", 60),
        ("risk",),
    ]
    asyncio.run(scenario(world, operations, split=3, user=world.learner.user))


def test_reactions_to_an_event_replayed_with_them_are_counted_once(world):
    """An event created and commented on while the client was away: its replayed copy
    must not already count the comment the replay also carries."""
    world.cohort.refresh_from_db()
    head = world.cohort.head_seq  # the rename below is head + 1; the comment targets it
    operations = [("rename", "Renamed"), ("comment", head, "on it"), ("kudos", head)]
    asyncio.run(scenario(world, operations, split=3))
