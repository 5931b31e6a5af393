"""Privacy by role over the WebSocket: live events, replay, presence, the native path.

A learner gets a peer's progress with ``score: null`` and a peer's risk events as the
``hidden`` placeholder (same seq), their own in full; mentors and staff get everything.
Each form of an event is made once per process, however many sockets get it.
"""

from __future__ import annotations

import json

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async

from dashboard.selectors import privacy
from dashboard.services.progress import progress_update
from dashboard.services.reports import at_risk_update
from realtime import hub as hub_module
from tests.factories import make_cohort, make_user
from tests.realtime.test_native_send import subscribed_client

pytestmark = pytest.mark.django_db(transaction=True)


def complete(world, index: int, slug: str, score: int) -> int:
    """Complete learner ``index``'s ``slug`` with ``score``; return the event's seq."""
    change = progress_update(
        actor=world.mentor,
        cohort_id=world.cohort.pk,
        learner_id=world.learners[index].pk,
        milestone_slug=slug,
        version=1,
        status="completed",
        score=score,
    )
    assert change.seq is not None
    return change.seq


def mark_risks(world) -> list[int]:
    """Append the cohort's at-risk transitions (everyone: django was due last week)."""
    return [event.seq for event in at_risk_update(cohort_id=world.cohort.pk)]


async def subscribe(sockets, user, world, since=None):
    sock = await sockets.open(user)
    frame = {"type": "subscribe", "topic": f"cohort:{world.cohort.pk}"}
    if since is not None:
        frame["since"] = since
    await sock.send(frame)
    subscribed = await sock.recv_type("subscribed")
    return sock, subscribed


async def events_of(sock, last: int) -> list[dict]:
    """Return the events the socket receives up to seq ``last``, in order."""
    events: list[dict] = []
    while not events or events[-1]["seq"] < last:
        frame = await sock.recv()
        if frame["type"] == "event":
            events.append(frame["event"])
        elif frame["type"] == "events":
            events.extend(frame["events"])
    return events


def assert_redacted_for(events: list[dict], learner_id: int) -> None:
    """Check the rule on every event a learner received."""
    for event in events:
        data = event["data"]
        if event["kind"] == "progress.updated" and data["learner"]["id"] != learner_id:
            assert data["score"] is None, event
        assert event["kind"] not in ("learner.at_risk", "learner.on_track") or (
            data["learner"]["id"] == learner_id
        ), event
        if event["kind"] == "hidden":
            assert (event["actor"], event["data"]) == (None, {}), event


# --------------------------------------------------------------------------------------
# Live events and replay
# --------------------------------------------------------------------------------------


async def test_live_events_reach_each_role_in_its_own_form(sockets):
    world = await database_sync_to_async(make_cohort)(learners=3)
    me, peer = world.learners[0], world.learners[1]
    mine, _ = await subscribe(sockets, me.user, world)
    theirs, _ = await subscribe(sockets, peer.user, world)
    mentor, _ = await subscribe(sockets, world.mentor, world)

    peer_seq = await database_sync_to_async(complete)(world, 1, "python", 70)
    own_seq = await database_sync_to_async(complete)(world, 0, "python", 90)
    risk_seqs = await database_sync_to_async(mark_risks)(world)
    last = risk_seqs[-1]

    as_me = await events_of(mine, last)
    as_peer = await events_of(theirs, last)
    as_mentor = await events_of(mentor, last)
    for events in (as_me, as_peer, as_mentor):
        assert [e["seq"] for e in events] == list(range(peer_seq, last + 1))  # gap-free
    by_seq = {e["seq"]: e for e in as_me}
    assert by_seq[peer_seq]["data"]["score"] is None
    assert by_seq[own_seq]["data"]["score"] == 90
    assert [by_seq[s]["kind"] for s in risk_seqs] == ["learner.at_risk", "hidden", "hidden"]
    assert by_seq[risk_seqs[0]]["data"]["reasons"]
    assert_redacted_for(as_me, me.pk)
    assert_redacted_for(as_peer, peer.pk)
    assert {e["seq"]: e["data"].get("score") for e in as_peer}[peer_seq] == 70
    assert [e["kind"] for e in as_mentor if e["seq"] in risk_seqs] == ["learner.at_risk"] * 3
    assert [e["data"]["score"] for e in as_mentor[:2]] == [70, 90]


async def test_a_learners_replay_is_redacted(sockets):
    world = await database_sync_to_async(make_cohort)(learners=3)
    me = world.learners[0]
    await database_sync_to_async(complete)(world, 1, "python", 70)
    await database_sync_to_async(complete)(world, 0, "python", 90)
    last = (await database_sync_to_async(mark_risks)(world))[-1]

    sock, subscribed = await subscribe(sockets, me.user, world, since=0)
    assert subscribed["recovered"] is True
    replayed = await events_of(sock, last)
    assert [e["seq"] for e in replayed] == list(range(1, last + 1))
    assert_redacted_for(replayed, me.pk)
    assert [e["kind"] for e in replayed[-3:]] == ["learner.at_risk", "hidden", "hidden"]
    assert [e["data"]["score"] for e in replayed if e["kind"] == "progress.updated"] == [None, 90]

    staff = await database_sync_to_async(make_user)(staff=True)
    full, _ = await subscribe(sockets, staff, world, since=0)
    everything = await events_of(full, last)
    assert [e["kind"] for e in everything[-3:]] == ["learner.at_risk"] * 3


async def test_each_form_of_an_event_is_made_once_whatever_the_number_of_learners(
    sockets, monkeypatch
):
    world = await database_sync_to_async(make_cohort)(learners=6)
    calls: list[int] = []
    real = privacy.redacted_event

    def counted(payload):
        calls.append(payload["seq"])
        return real(payload)

    monkeypatch.setattr(privacy, "redacted_event", counted)
    socks = [(await subscribe(sockets, m.user, world))[0] for m in world.learners[1:]]
    socks += [(await subscribe(sockets, world.mentor, world))[0]]
    seq = await database_sync_to_async(complete)(world, 0, "python", 90)
    for sock in socks:
        await events_of(sock, seq)
    assert calls == [seq]  # one redaction for five learners, none for the mentor


# --------------------------------------------------------------------------------------
# Presence
# --------------------------------------------------------------------------------------


async def test_presence_carries_no_risk_for_anyone(sockets):
    world = await database_sync_to_async(make_cohort)(learners=2)
    await database_sync_to_async(mark_risks)(world)  # both learners are at risk
    watcher, _ = await subscribe(sockets, world.learners[0].user, world)
    _, subscribed = await subscribe(sockets, world.learners[1].user, world)
    frame = await watcher.recv()
    assert frame["type"] == "presence"
    for entry in [*subscribed["presence"], *frame["joins"]]:
        assert set(entry) == {"user", "role", "since"}
        assert set(entry["user"]) == {"id", "name"}
    assert "risk" not in json.dumps([subscribed, frame])
    assert {e["role"] for e in subscribed["presence"]} == {"learner"}


# --------------------------------------------------------------------------------------
# The native path: one send per audience
# --------------------------------------------------------------------------------------


async def test_native_sends_give_learners_and_mentors_their_own_bytes(server, world):
    topic = f"cohort:{world.cohort.pk}"
    me, peer = world.learners[0], world.learners[1]
    learners = [await subscribed_client(server, peer.user, topic) for _ in range(3)]
    own = await subscribed_client(server, me.user, topic)
    mentors = [await subscribed_client(server, world.mentor, topic) for _ in range(3)]
    hub = hub_module.get_hub()
    before = hub.native_sends

    seq = await sync_to_async(complete)(world, 0, "python", 90)

    async def score_seen(ws) -> object:
        while True:
            frame = json.loads(await ws.recv())
            if frame["type"] == "event" and frame["event"]["seq"] == seq:
                return frame["event"]["data"]["score"]

    assert [await score_seen(ws) for ws, _ in learners] == [None] * 3
    assert await score_seen(own[0]) == 90
    assert [await score_seen(ws) for ws, _ in mentors] == [90] * 3
    assert hub.native_sends - before == 7  # every socket, learners included, went native
    for ws, _ in [*learners, own, *mentors]:
        await ws.close()
