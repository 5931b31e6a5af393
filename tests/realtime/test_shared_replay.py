"""Replay reads shared by sockets subscribing at the same ``since`` (issue 17, 4.10), and
a second subscribe to a topic replacing the first (metrics and cohorts).

Sockets that subscribe to one cohort with one ``since`` while a read for it has not yet
begun await that one read; each gets its own form of it (privacy by role), the same
events a read of its own would have given.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator

import pytest
from channels.db import database_sync_to_async

from dashboard.selectors.cohorts import events_after
from dashboard.selectors.privacy import viewer_for
from realtime import reads
from realtime.hub import get_hub
from realtime.subscribing import SharedReplays
from tests.factories import make_cohort
from tests.realtime.conftest import acomment
from tests.realtime.test_privacy import assert_redacted_for, complete, events_of, mark_risks

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def counted_reads(monkeypatch) -> list[tuple[int, int]]:
    """Count the replay reads that reach the database: (cohort, since) per read."""
    calls: list[tuple[int, int]] = []
    real = reads.read_replay

    def counting(cohort_id, since, limit, *rest):
        calls.append((cohort_id, since))
        return real(cohort_id, since, limit, *rest)

    monkeypatch.setattr(reads, "read_replay", counting)
    return calls


@contextlib.asynccontextmanager
async def orm_thread_held() -> AsyncIterator[None]:
    """Hold the one ORM thread: reads queue behind it, not yet begun, until the end."""
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        held.set()
        release.wait(10)

    task = asyncio.ensure_future(database_sync_to_async(hold)())
    while not held.is_set():
        await asyncio.sleep(0.005)
    try:
        yield
    finally:
        release.set()
        await task


async def ready_sockets(sockets, users, topic: str):
    """Sockets whose viewer is known and whose topic is live (a keeper holds it), not
    subscribed: their next subscribe needs nothing from the ORM thread but the replay."""
    keeper = await sockets.open(users[0])
    await keeper.send({"type": "subscribe", "topic": topic})
    await keeper.recv_type("subscribed")
    socks = []
    for user in users:
        sock = await sockets.open(user)
        await sock.send({"type": "subscribe", "topic": topic})
        await sock.recv_type("subscribed")
        await sock.send({"type": "unsubscribe", "topic": topic})
        await sock.recv_type("unsubscribed")
        socks.append(sock)
    return socks


async def subscribe_together(socks, topic: str, since: int) -> None:
    """Send every subscribe while the ORM thread is held; release it once all wait."""
    hub = get_hub()
    async with orm_thread_held():
        for sock in socks:
            await sock.send({"type": "subscribe", "topic": topic, "since": since})
        await asyncio.sleep(0.3)  # every subscribe reaches the read and waits
        assert len(hub.replays.pending) == 1


async def test_sockets_subscribing_at_one_since_at_once_run_one_read(sockets, counted_reads):
    world = await database_sync_to_async(make_cohort)(learners=2)
    for i in range(5):
        head = await acomment(world, f"c{i}")
    topic = f"cohort:{world.cohort.pk}"
    socks = await ready_sockets(sockets, [world.mentor] * 6, topic)

    await subscribe_together(socks, topic, head - 5)

    for sock in socks:
        subscribed = await sock.recv_type("subscribed")
        assert (subscribed["seq"], subscribed["recovered"]) == (head, True)
        replay = await sock.recv_type("events")
        assert [e["seq"] for e in replay["events"]] == list(range(head - 4, head + 1))
        assert [e["data"]["text"] for e in replay["events"]] == [f"c{i}" for i in range(5)]
    assert counted_reads == [(world.cohort.pk, head - 5)]
    assert get_hub().replays.pending == {}
    # Live events follow once, in order, on every socket.
    seq = await acomment(world, "live")
    for sock in socks:
        assert (await sock.recv_type("event"))["event"]["seq"] == seq
        assert await sock.nothing(0.05)


async def test_a_shared_read_over_the_replay_limit_is_not_recovered_for_anyone(
    sockets, settings, counted_reads
):
    settings.WS_REPLAY_MAX = 3
    world = await database_sync_to_async(make_cohort)(learners=1)
    for i in range(5):
        head = await acomment(world, f"c{i}")
    topic = f"cohort:{world.cohort.pk}"
    socks = await ready_sockets(sockets, [world.mentor] * 3, topic)

    await subscribe_together(socks, topic, head - 5)

    for sock in socks:
        subscribed = await sock.recv_type("subscribed")
        assert (subscribed["seq"], subscribed["recovered"]) == (head, False)
        assert await sock.nothing(0.05)
    assert len(counted_reads) == 1


async def test_a_learner_and_a_mentor_sharing_a_read_each_get_their_own_form(
    sockets, counted_reads
):
    world = await database_sync_to_async(make_cohort)(learners=3)
    me, peer = world.learners[0], world.learners[1]
    await database_sync_to_async(complete)(world, 1, "python", 70)
    await database_sync_to_async(complete)(world, 0, "python", 90)
    last = (await database_sync_to_async(mark_risks)(world))[-1]
    topic = f"cohort:{world.cohort.pk}"
    users = await database_sync_to_async(lambda: [me.user, peer.user, world.mentor])()
    mine, theirs, mentor = await ready_sockets(sockets, users, topic)

    await subscribe_together([mine, theirs, mentor], topic, 0)

    got = {}
    for name, sock in (("me", mine), ("peer", theirs), ("mentor", mentor)):
        assert (await sock.recv_type("subscribed"))["recovered"] is True
        got[name] = await events_of(sock, last)
        assert [e["seq"] for e in got[name]] == list(range(1, last + 1))
    assert_redacted_for(got["me"], me.pk)
    assert_redacted_for(got["peer"], peer.pk)
    scores = [e["data"]["score"] for e in got["me"] if e["kind"] == "progress.updated"]
    assert scores == [None, 90]
    scores = [e["data"]["score"] for e in got["peer"] if e["kind"] == "progress.updated"]
    assert scores == [70, None]
    assert [e["kind"] for e in got["mentor"][-3:]] == ["learner.at_risk"] * 3
    assert len(counted_reads) == 1

    # Each form is exactly what a read for that viewer alone gives (privacy.event_for).
    def alone(user):
        viewer = viewer_for(user=user, cohort_id=world.cohort.pk)
        return events_after(cohort_id=world.cohort.pk, after=0, limit=1000, viewer=viewer)[0]

    for name, user in zip(("me", "peer", "mentor"), users, strict=True):
        assert got[name] == await database_sync_to_async(alone)(user), name


async def test_a_failed_read_fails_its_waiters_only_and_the_next_subscribe_reads_again(
    monkeypatch,
):
    world = await database_sync_to_async(make_cohort)(learners=1)
    head = await acomment(world, "x")
    real = reads.read_replay
    calls = []

    def failing_once(cohort_id, since, limit):
        calls.append(since)
        if len(calls) == 1:
            raise RuntimeError("database went away")
        return real(cohort_id, since, limit)

    monkeypatch.setattr(reads, "read_replay", failing_once)
    replays = SharedReplays()
    cohort = world.cohort.pk
    results = await asyncio.gather(
        replays.read(cohort, 0, 1000), replays.read(cohort, 0, 1000), return_exceptions=True
    )
    assert [type(r) for r in results] == [RuntimeError, RuntimeError]
    assert (len(calls), replays.pending) == (1, {})
    got_head, replay = await replays.read(cohort, 0, 1000)
    assert (len(calls), got_head) == (2, head)
    assert replay is not None and len(replay) == head


async def test_a_waiter_that_goes_away_does_not_cancel_the_read_of_the_others():
    world = await database_sync_to_async(make_cohort)(learners=1)
    head = await acomment(world, "x")
    replays = SharedReplays()
    first = asyncio.ensure_future(replays.read(world.cohort.pk, 0, 1000))
    second = asyncio.ensure_future(replays.read(world.cohort.pk, 0, 1000))
    await asyncio.sleep(0)
    first.cancel()
    got_head, replay = await second
    assert (got_head, replays.reads) == (head, 1)
    assert replay is not None and len(replay) == head


async def test_a_read_that_began_is_not_joined(counted_reads):
    """A socket registered after a read took its head could miss the events between
    that head and its registration: it starts the next read instead."""
    world = await database_sync_to_async(make_cohort)(learners=1)
    await acomment(world, "x")
    replays = SharedReplays()
    first = asyncio.ensure_future(replays.read(world.cohort.pk, 0, 1000))
    while not counted_reads:  # the read began in the ORM thread
        await asyncio.sleep(0.001)
    second = asyncio.ensure_future(replays.read(world.cohort.pk, 0, 1000))
    await asyncio.gather(first, second)
    assert (len(counted_reads), replays.reads) == (2, 2)


# --------------------------------------------------------------------------------------
# A second subscribe replaces the first
# --------------------------------------------------------------------------------------


async def test_metrics_subscribed_twice_gets_each_sample_once(sockets, monkeypatch):
    from realtime import broadcasting

    monkeypatch.setattr(reads, "latest_metrics", lambda: None)
    world = await database_sync_to_async(make_cohort)(learners=1)
    sock = await sockets.open(world.mentor)
    for _ in range(2):
        await sock.send({"type": "subscribe", "topic": "metrics:cache"})
        assert (await sock.recv())["type"] == "subscribed"
    await database_sync_to_async(broadcasting.publish_metrics)({"at": "t1"})
    frame = await sock.recv()
    assert (frame["type"], frame["sample"]) == ("metrics", {"at": "t1"})
    assert await sock.nothing()  # not a second time
    assert len(get_hub().topics["metrics:cache"].subs) == 1


async def test_a_cohort_subscribed_twice_gets_each_event_once(sockets):
    world = await database_sync_to_async(make_cohort)(learners=1)
    topic = f"cohort:{world.cohort.pk}"
    sock = await sockets.open(world.mentor)
    await sock.send({"type": "subscribe", "topic": topic})
    first = await sock.recv_type("subscribed")
    await sock.send({"type": "subscribe", "topic": topic, "since": first["seq"]})
    assert (await sock.recv_type("subscribed"))["recovered"] is True
    assert len(get_hub().topics[topic].subs) == 1
    seq = await acomment(world, "once")
    assert (await sock.recv_type("event"))["event"]["seq"] == seq
    assert await sock.nothing()
    # The socket counts once in presence, not twice.
    assert [local.count for local in get_hub().local_presence.values()] == [1]


# --------------------------------------------------------------------------------------
# The forms of one read are each viewer's own read
# --------------------------------------------------------------------------------------


def test_each_viewers_form_of_a_read_is_what_a_read_of_its_own_gives():
    """Every kind that privacy touches (progress, risk, reactions on a risk event, the
    daily digest, learners added), for mentor, staff and each learner, byte for byte."""
    from django.utils import timezone

    from dashboard.services.reactions import comment_add, kudos_add
    from dashboard.services.reports import daily_digest_append
    from realtime.protocol import dumps
    from tests.factories import make_user

    world = make_cohort(learners=3)
    complete(world, 1, "python", 70)
    complete(world, 0, "python", 90)
    risks = mark_risks(world)
    comment_add(actor=world.mentor, cohort_id=world.cohort.pk, seq=risks[0], text="Let's talk")
    kudos_add(actor=world.mentor, cohort_id=world.cohort.pk, seq=risks[1])
    daily_digest_append(cohort_id=world.cohort.pk, day=timezone.localdate())
    head, replay = reads.read_replay(world.cohort.pk, 0, 1000)
    assert replay is not None and len(replay) == head
    users = [world.mentor, make_user(staff=True), *(m.user for m in world.learners)]
    kinds = set()
    for user in users:
        viewer = viewer_for(user=user, cohort_id=world.cohort.pk)
        alone, _ = events_after(cohort_id=world.cohort.pk, after=0, limit=1000, viewer=viewer)
        assert replay.for_viewer(viewer) == [dumps(e) for e in alone], user
        kinds.update(e["kind"] for e in alone)
    assert {"hidden", "progress.updated", "comment.added", "kudos.added", "report.daily"} <= kinds
    assert replay.for_viewer(None) == replay.full
